"""Provider failover: what a refused submit proves, and moving a job to another provider.

A submit the provider answered with a refusal (key refused, insufficient credit, bad request,
...) or that never left this machine created no job. Anything else after the request was sent
(a 5xx, an answer without a job id, a lost answer) may have created a paid job: never moved,
never refunded (UNKNOWN, an admin checks).

A job may move only when the member did not choose its provider (`Job.failover_providers`,
set when it is started, lists the providers the server's rules allow for its options), the
server has failover on, and the refusal proves no job was created for a reason another
provider would not share: the key refused, the credit run out, the provider unreachable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from bot.core.audit import AuditAction, audit_job
from bot.core.guild.models import GuildConfig
from bot.core.jobs import fence
from bot.core.jobs.models import Job, JobState
from providers import (
    AuthenticationError,
    ContentModerated,
    InputNotFetchable,
    InsufficientCredit,
    InvalidRequest,
    JobNotFound,
    PermissionDenied,
    Provider,
    ProviderError,
    ProviderName,
    RateLimited,
    SubmitNotSent,
    TaskFailed,
    UnsafeURL,
    UnsupportedOption,
    VideoRequest,
)

log = logging.getLogger(__name__)

# Answers that refuse the request: the provider says it did not take it.
_REFUSALS = (
    AuthenticationError,
    PermissionDenied,
    InsufficientCredit,
    InvalidRequest,
    InputNotFetchable,
    ContentModerated,
    TaskFailed,
    JobNotFound,
    UnsupportedOption,
    UnsafeURL,
    RateLimited,
    SubmitNotSent,
)

KEY = "key"
CREDIT = "credit"
UNREACHABLE = "unreachable"


def created_nothing(error: ProviderError) -> bool:
    """True only when the error proves the provider created no job. A 5xx, an unreadable or
    incomplete success answer (no job id) and a lost answer prove nothing."""
    return isinstance(error, _REFUSALS) and error.refundable


def failover_reason(error: ProviderError) -> str | None:
    """Why another provider may take the job (KEY, CREDIT, UNREACHABLE), or None when the
    error does not allow a move (it may have created a job, or any provider would refuse)."""
    match error:
        case AuthenticationError() | PermissionDenied():
            return KEY
        case InsufficientCredit():
            return CREDIT
        case SubmitNotSent():
            return UNREACHABLE
        case _:
            return None


def encode(names: Sequence[ProviderName]) -> str | None:
    return ",".join(n.value for n in names) or None


def decode(stored: str | None) -> list[ProviderName]:
    names = []
    for part in (stored or "").split(","):
        try:
            names.append(ProviderName(part))
        except ValueError:
            continue  # empty, or a provider this release no longer knows
    return names


def same_options(job: Job, provider: Provider, request: VideoRequest) -> bool:
    """Whether `provider` makes exactly the video the job asked for (never silently changed)."""
    try:
        resolved = provider.resolve(request)
    except (UnsupportedOption, UnsafeURL):
        return False
    return (resolved.duration, resolved.resolution, resolved.aspect_ratio) == (
        job.duration,
        job.resolution,
        job.aspect_ratio,
    )


@dataclass(frozen=True, slots=True)
class Move:
    to: ProviderName
    reason: str


def failover_enabled(session: Session, *, guild_id: int | None) -> bool:
    """The server's switch (on unless an admin turned it off)."""
    if guild_id is None:
        return True
    config = session.get(GuildConfig, guild_id)
    return config is None or config.failover


def move_provider(
    session: Session,
    *,
    job_id: str,
    owner: str,
    now: float,
    move: Move,
    epoch: int | None = None,
    remaining: Sequence[ProviderName],
    refusal: str,
) -> Job | None:
    """Point a SUBMITTING job this process holds at another provider, with nothing on the
    wire (its refused attempt cleared), and audit it. None when the job is no longer ours."""
    result: Any = session.execute(
        update(Job)
        .where(
            col(Job.id) == job_id,
            col(Job.state) == JobState.SUBMITTING,
            *fence.held_by(owner, epoch),
        )
        .values(
            failover_from=Job.provider,
            provider=move.to.value,
            failover_reason=move.reason,
            failover_providers=encode(remaining),
            submit_attempted_at=None,
            submit_retry_at=None,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        return None
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:  # pragma: no cover - it was just updated
        return None
    audit_job(session, job=job, action=AuditAction.FAILOVER, now=now, reason=refusal)
    return job


def next_provider(
    job: Job,
    providers: Mapping[ProviderName, Provider],
    request_for: Any,
) -> tuple[ProviderName, list[ProviderName]] | None:
    """The first of the job's failover providers configured here that makes the same video,
    and those after it. `request_for(provider)` builds the job's request for a provider."""
    candidates = decode(job.failover_providers)
    for index, name in enumerate(candidates):
        provider = providers.get(name)
        if provider is None or name.value == job.provider:
            continue
        try:
            request = request_for(provider)
        except ValueError:
            continue
        if same_options(job, provider, request):
            return name, candidates[index + 1 :]
    return None
