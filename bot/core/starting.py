"""Starting a job, with no chat in it: the server's rules (admission), the provider, the
options, the prompt filter, the image, then the reservation and the stored job. Every refusal
on the way raises a `bot.core.errors.Refused` and leaves nothing charged; a refusal by a server
rule is written to the audit log."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core.audit import AuditAction, audit
from bot.core.db import Database
from bot.core.errors import (
    AlreadyStarted,
    BudgetExhausted,
    ChannelUnusable,
    InvalidRequest,
    NoProviders,
    NotAccepting,
    OptionUnsupported,
    ProviderNotConfigured,
    Refusal,
)
from bot.core.guild.policy import Admission, Requester, admit, check_options, load_rules
from bot.core.i18n import Wording, later
from bot.core.images import inspect_image
from bot.core.jobs.failover import encode
from bot.core.jobs.models import Job
from bot.core.jobs.runner import JobRunner
from bot.core.preferences import store as preferences
from bot.core.preferences.models import Delivery
from bot.core.preferences.resolve import Filled, Level, PreferenceUnsupported, fill, refuse_saved
from providers import (
    MAX_SEED,
    Mode,
    Provider,
    ProviderName,
    ResolvedOptions,
    UnsafeURL,
    UnsupportedOption,
    VideoRequest,
)
from providers.capabilities import Capabilities

if TYPE_CHECKING:
    from bot.core.extend.chain import ChainLink

# Checked against the provider's rules before the real (re-hosted) URL exists.
PLACEHOLDER_IMAGE_URL = "https://cdn.discordapp.com/placeholder.png"


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What the member asked for."""

    mode: Mode
    prompt: str
    provider: ProviderName | None = None
    aspect_ratio: str | None = None
    duration: int | None = None
    resolution: str | None = None
    seed: int | None = None
    image: bytes | None = None
    parent_job_id: str | None = None
    chain: ChainLink | None = None  # an extension: its place in its chain (bot.core.extend)


@dataclass(frozen=True, slots=True)
class StartRequest:
    spec: JobSpec
    guild_id: int | None
    channel_id: int  # where the job's messages go (a thread's own id)
    requester: Requester  # who asks, and the channel whose rules apply
    upload_limit: int  # bytes the channel accepts in one message
    # The interaction that asked (a command, or a Re-roll click): one job per interaction. None
    # only for a job no interaction started.
    interaction_id: int | None
    missing_permissions: tuple[str, ...] = ()  # what the bot lacks in the channel
    member_locale: str | None = None  # Discord locale strings, e.g. "en-US"; None if unknown
    guild_locale: str | None = None  # the server's preferred locale; None outside a server


@dataclass(frozen=True, slots=True)
class Started:
    job: Job
    review_channel_id: int | None  # set when the job waits for a moderator's approval
    image: tuple[bytes, str] | None  # the input image and its file name


async def start_job(
    request: StartRequest,
    *,
    db: Database,
    runner: JobRunner,
    providers: Mapping[ProviderName, Provider],
    order: Sequence[ProviderName],
    clock: Callable[[], float] = time.time,
) -> Started:
    """Admit, check and accept one job. Raises a `Refused` (nothing charged) or returns the
    stored job: ACCEPTED with its cost reserved, or PENDING_REVIEW when a moderator decides.
    The same interaction delivered again raises `AlreadyStarted`, before any check (so no
    refusal is audited twice) and, when two deliveries race, from the job's unique
    interaction id: either way one job and one reservation are kept."""
    if not runner.accepting:
        raise NotAccepting
    await _check_not_started(db, request.interaction_id)
    gid, user_id = request.guild_id or 0, request.requester.user_id
    rules_channel = request.requester.channel_id
    rules, saved = await db.run(
        lambda s: (
            load_rules(s, guild_id=gid, user_id=user_id),
            preferences.load(session=s, guild_id=gid, user_id=user_id, channel_id=rules_channel),
        )
    )
    asked = request.spec
    filled = fill(mode=asked.mode, asked=_asked(asked), saved=saved)
    spec = _filled_spec(asked, filled)
    try:
        admission = admit(
            config=rules.config,
            tiers=rules.tiers,
            block=rules.block,
            who=request.requester,
            base=runner.config.quota,
            configured=order,
        )
    except Refusal as refusal:
        await _refused(db, request, refusal, provider=None, now=clock())
        raise
    _check_saved_provider(spec, filled, admission.providers)
    name, provider = resolve_provider(spec.provider or admission.providers[0], providers, order)
    seed = (
        spec.seed if spec.seed is not None and spec.seed >= 0 else secrets.randbelow(MAX_SEED + 1)
    )
    wanted = _video_request(spec, seed)
    try:
        options = provider.resolve(wanted)
    except UnsupportedOption as error:
        refuse_saved(error, filled, provider=name, mode=spec.mode)
        alternatives = _alternatives(error, spec.mode, name, providers)
        raise OptionUnsupported(error, alternatives, mode=spec.mode) from error
    except UnsafeURL as error:  # pragma: no cover - the placeholder is always acceptable
        raise InvalidRequest(error.detail) from error
    try:
        check_options(
            admission, provider=name, duration=options.duration, resolution=options.resolution
        )
        match = await asyncio.to_thread(rules.filter.check, wanted.prompt)
        if match is not None:
            raise Refusal(
                "prompt",
                later(
                    "reply",
                    "Your prompt contains something this server doesn't allow "
                    "(“{quoted}”). Please rephrase it.",
                ),
                quoted=match.excerpt,
                quoted_limit=40,
            )
    except Refusal as refusal:
        await _refused(db, request, refusal, provider=name, now=clock())
        raise
    if request.missing_permissions:
        raise ChannelUnusable(request.missing_permissions)
    failover = (
        []
        if spec.provider is not None
        else _failover_providers(admission, name, providers, wanted, options)
    )
    image_data = spec.image
    checked = None if image_data is None else await asyncio.to_thread(inspect_image, image_data)

    policy = runner.config.quota
    job = Job(
        guild_id=request.guild_id,
        channel_id=request.channel_id,
        user_id=user_id,
        mode=spec.mode.value,
        provider=name.value,
        prompt=wanted.prompt,
        aspect_ratio=options.aspect_ratio,
        duration=options.duration,
        resolution=options.resolution,
        seed=seed,
        cost=policy.cost(options.duration),
        upload_limit=request.upload_limit,
        parent_job_id=spec.parent_job_id,
        channel_nsfw=request.requester.channel_nsfw,
        interaction_id=request.interaction_id,
        member_locale=request.member_locale,
        # Its public posts speak the language the server chose, else the server's own.
        guild_locale=rules.config.locale or request.guild_locale,
        deliver_dm=filled.delivery is Delivery.DM,
        failover_providers=encode(failover),
        **(spec.chain.columns() if spec.chain is not None else {}),
    )
    try:
        job = await runner.accept(
            job, policy=admission.policy, budget=admission.budget, hold=admission.review
        )
    except IntegrityError:
        # The other delivery's job was stored between our check and our insert; this
        # transaction, reservation included, was rolled back.
        await _check_not_started(db, request.interaction_id)
        raise
    except BudgetExhausted as error:
        # For the audit log only: the member reads BudgetExhausted's own wording.
        budget = Refusal(
            "budget", Wording(msgid=f"server budget {error.used}/{error.budget}", context="reply")
        )
        await _refused(db, request, budget, provider=name, now=clock())
        raise
    image = (spec.image, f"input.{checked.extension}") if spec.image and checked else None
    review_channel = rules.config.review_channel_id if admission.review else None
    return Started(job=job, review_channel_id=review_channel, image=image)


async def _check_not_started(db: Database, interaction_id: int | None) -> None:
    if interaction_id is None:
        return
    existing = await db.run(lambda s: _job_of_interaction(s, interaction_id))
    if existing is not None:
        raise AlreadyStarted(existing)


def _job_of_interaction(session: Session, interaction_id: int) -> str | None:
    query = select(Job.id).where(col(Job.interaction_id) == interaction_id)
    return session.exec(query).first()


def _asked(spec: JobSpec) -> preferences.Values:
    return preferences.Values(
        provider=None if spec.provider is None else spec.provider.value,
        aspect_ratio=spec.aspect_ratio,
        duration=spec.duration,
        resolution=spec.resolution,
    )


def _filled_spec(spec: JobSpec, filled: Filled) -> JobSpec:
    values = filled.values
    return replace(
        spec,
        provider=None if values.provider is None else ProviderName(values.provider),
        aspect_ratio=values.aspect_ratio,
        duration=values.duration,
        resolution=values.resolution,
    )


def _check_saved_provider(spec: JobSpec, filled: Filled, allowed: Sequence[ProviderName]) -> None:
    """A saved provider this member may not use here (disabled since, or not in their tier)
    is named as the saved value it is."""
    level = filled.sources.get("provider")
    if spec.provider is None or level not in (Level.MEMBER, Level.CHANNEL):
        return
    if spec.provider not in allowed:
        raise PreferenceUnsupported(
            option="provider",
            value=spec.provider.value,
            level=level,
            provider=spec.provider,
            mode=spec.mode,
            accepted=[p.value for p in allowed],
        )


def resolve_provider(
    wanted: ProviderName | None,
    providers: Mapping[ProviderName, Provider],
    order: Sequence[ProviderName],
) -> tuple[ProviderName, Provider]:
    """The provider to use: the one asked for, else the first configured."""
    if not order:
        raise NoProviders
    name = wanted or order[0]
    provider = providers.get(name)
    if provider is None:
        raise ProviderNotConfigured(name, tuple(order))
    return name, provider


def _failover_providers(
    admission: Admission,
    chosen: ProviderName,
    providers: Mapping[ProviderName, Provider],
    wanted: VideoRequest,
    options: ResolvedOptions,
) -> list[ProviderName]:
    """The providers a job whose provider the member did not choose may move to (provider
    failover): allowed to this member here, configured, and making the same video."""
    found = []
    for name in admission.providers:
        provider = providers.get(name)
        if name is chosen or provider is None:
            continue
        try:
            theirs = provider.resolve(
                wanted.model_copy(update={"aspect_ratio": options.aspect_ratio})
            )
            check_options(
                admission, provider=name, duration=theirs.duration, resolution=theirs.resolution
            )
        except (UnsupportedOption, UnsafeURL, Refusal):
            continue
        if (theirs.duration, theirs.resolution, theirs.aspect_ratio) == (
            options.duration,
            options.resolution,
            options.aspect_ratio,
        ):
            found.append(name)
    return found


def _video_request(spec: JobSpec, seed: int) -> VideoRequest:
    try:
        return VideoRequest(
            mode=spec.mode,
            prompt=spec.prompt,
            aspect_ratio=spec.aspect_ratio,
            duration=spec.duration,
            resolution=spec.resolution,
            seed=seed,
            image_url=PLACEHOLDER_IMAGE_URL if spec.mode is Mode.IMAGE else None,
        )
    except ValidationError as error:
        item = error.errors(include_input=False, include_url=False)[0]
        field = ".".join(str(p) for p in item["loc"]) or "request"
        message = str(item["msg"]).removeprefix("Value error, ")
        raise InvalidRequest(message, field=field) from error


def _alternatives(
    error: UnsupportedOption,
    mode: Mode,
    chosen: ProviderName,
    providers: Mapping[ProviderName, Provider],
) -> tuple[ProviderName, ...]:
    """The other configured providers that would accept what the chosen one refused."""
    return tuple(
        name
        for name, provider in providers.items()
        if name is not chosen and _accepts(provider.capabilities(mode), error.option, error.value)
    )


def _accepts(capabilities: Capabilities, option: str, value: object) -> bool:
    match option:
        case "duration":
            return value in capabilities.durations
        case "resolution":
            return value in capabilities.resolutions
        case "aspect_ratio":
            return value in capabilities.aspect_ratios
        case _:
            return False


async def _refused(
    db: Database,
    request: StartRequest,
    refusal: Refusal,
    *,
    provider: ProviderName | None,
    now: float,
) -> None:
    """Every refusal by a server rule is audited; it costs nothing."""
    spec = request.spec
    options = f"{spec.mode.value} · {spec.duration or '-'} s · {spec.resolution or '-'}"
    chosen = provider or spec.provider
    await db.run(
        lambda s: audit(
            session=s,
            guild_id=request.guild_id,
            action=AuditAction.REFUSED,
            now=now,
            user_id=request.requester.user_id,
            prompt=spec.prompt,
            options=options,
            provider=chosen.value if chosen else None,
            reason=f"{refusal.rule}: {refusal.render(str)}",
        )
    )
