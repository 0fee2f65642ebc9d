"""Planning an extension: which provider and options the next clip gets, and whether the
chain may grow by it at all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.core.jobs.models import Job, JobState
from providers import Mode, Provider, ProviderName

JOIN_OWED = "owed"  # the clip's joined video is still to be posted
JOIN_POSTED = "posted"  # posted: `join_message_id`
JOIN_FAILED = "failed"  # could not be made or posted; the clip itself stands


class Blocked(StrEnum):
    """Why a video cannot be extended (the chat side words it)."""

    NOT_DELIVERED = "not_delivered"
    STILL_POSTING = "still_posting"  # its result (or its chain's joined video) is on the way
    PROMPT_ERASED = "prompt_erased"
    TOO_LONG = "too_long"
    NO_IMAGE_PROVIDER = "no_image_provider"


@dataclass(frozen=True, slots=True)
class ChainLink:
    """Where a new clip sits in its chain."""

    parent_job_id: str
    root_id: str
    length: int  # clips up to and including the new one
    seconds: float  # their seconds, the new clip's planned length included

    def columns(self) -> dict[str, Any]:
        """The job's columns for it; its joined video is owed from the start."""
        return {
            "chain_root_id": self.root_id,
            "chain_length": self.length,
            "chain_seconds": self.seconds,
            "join_state": JOIN_OWED,
        }


@dataclass(frozen=True, slots=True)
class ExtensionPlan:
    provider: ProviderName
    duration: int
    resolution: str | None  # None: the provider's own (it offers no choice)
    link: ChainLink


def chain_seconds(job: Job) -> float:
    """Seconds of the chain ending with `job`'s clip (a first clip: its own length)."""
    return job.chain_seconds if job.chain_seconds is not None else float(job.duration)


def plan_extension(
    parent: Job,
    *,
    providers: Mapping[ProviderName, Provider],
    order: Sequence[ProviderName],
    max_seconds: float,
) -> ExtensionPlan | Blocked:
    """The next clip after `parent`'s: on the parent's provider when it makes videos from
    images, else the first configured one that does; the parent's duration and resolution
    where that provider offers them, else a shorter duration that keeps the chain within
    `max_seconds` (the joined video's length)."""
    if parent.state in (JobState.DOWNLOADING, JobState.DELIVERING):
        return Blocked.STILL_POSTING
    if parent.state is not JobState.DELIVERED or parent.result_message_id is None:
        return Blocked.NOT_DELIVERED
    if parent.prompt is None:
        return Blocked.PROMPT_ERASED
    name = _image_provider(parent, providers, order)
    if name is None:
        return Blocked.NO_IMAGE_PROVIDER
    capabilities = providers[name].capabilities(Mode.IMAGE)
    so_far = chain_seconds(parent)
    preferred = [parent.duration] if parent.duration in capabilities.durations else []
    fitting = [
        d for d in (*preferred, *sorted(capabilities.durations)) if so_far + d <= max_seconds
    ]
    if not fitting:
        return Blocked.TOO_LONG
    duration = fitting[0]
    resolution = parent.resolution if parent.resolution in capabilities.resolutions else None
    link = ChainLink(
        parent_job_id=parent.id,
        root_id=parent.chain_root_id or parent.id,
        length=(parent.chain_length or 1) + 1,
        seconds=so_far + duration,
    )
    return ExtensionPlan(provider=name, duration=duration, resolution=resolution, link=link)


def _image_provider(
    parent: Job, providers: Mapping[ProviderName, Provider], order: Sequence[ProviderName]
) -> ProviderName | None:
    candidates = [ProviderName(parent.provider), *order]
    for name in candidates:
        provider = providers.get(name)
        if provider is not None and provider.capabilities(Mode.IMAGE).durations:
            return name
    return None
