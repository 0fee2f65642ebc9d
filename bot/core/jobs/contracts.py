"""What the job runner promises and needs: its configuration, the chat side it talks to
(`Presenter`), and the words members see for provider errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bot.core.jobs import reasons
from bot.core.jobs.models import Job
from bot.core.quotas import QuotaPolicy
from providers import (
    ContentModerated,
    Downloaded,
    InputNotFetchable,
    PollCadence,
    ProviderError,
    TransientError,
)
from providers.learned_polling import LearnedSchedule


class DeliveryFailed(Exception):
    """The result could not be posted; `reason` is shown to the member."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Presenter(Protocol):
    """What the runner needs from the chat side."""

    async def hold_for_review(self, job: Job, video: Downloaded | None) -> int:
        """Post a flagged video to the review channel; return that message's id.
        Raises DeliveryFailed when it cannot be posted."""
        ...

    async def show_status(self, job: Job, *, waiting_position: int | None = None) -> bool:
        """Show the job's state on its status message, never on the job's path.

        A non-final state is recorded for the channel's coalescing editor and this returns
        True at once (it never waits on Discord). A final state goes ahead of the others and
        this waits until the message shows it, or the edit was definitively refused: True if
        the message now shows it (also when the job has no status message or the message was
        deleted), False otherwise. Never raises for Discord errors."""
        ...

    async def deliver(self, job: Job, video: Downloaded | None) -> int:
        """Post the result (the file, or a link when `video` is None); return the message id."""
        ...

    async def find_delivery(self, job: Job) -> int | None:
        """After a restart in DELIVERING: the id of an already posted result, if any."""
        ...

    async def find_status(self, job: Job) -> tuple[int, str | None] | None:
        """After a restart of a job whose status message id was never stored: the message
        if it was posted after all, with the URL of the image re-hosted on it (if any)."""
        ...

    async def fresh_image_url(self, job: Job) -> str | None:
        """A freshly signed URL of the job's input image, or None when none can be had.
        Chat attachment URLs expire, so the one stored at acceptance may be dead by the time
        the job is submitted."""
        ...


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    quota: QuotaPolicy
    max_concurrent_jobs: int = 2
    lease_seconds: float = 60.0
    cadence: PollCadence = field(default_factory=PollCadence)
    learned: LearnedSchedule | None = None  # None: today's cadence only, nothing learned
    deadline_seconds: float = 1800.0
    download_attempts: int = 3
    review_expiry_hours: float = 24.0  # for servers that never set their own
    review_check_seconds: float = 30.0


class CancelResult(StrEnum):
    CANCELLED = "cancelled"
    NOT_ALLOWED = "not_allowed"
    FINISHED = "finished"
    NOT_CANCELLABLE = "not_cancellable"
    UNSUPPORTED = "unsupported"
    TOO_LATE = "too_late"  # downloading or posting already
    BUSY = "busy"  # the submit is on the wire right now
    NOT_FOUND = "not_found"


def user_reason(error: ProviderError) -> str:
    """Plain words for a member. Admin detail goes to the logs."""
    match error:
        case ContentModerated():
            return reasons.stored(reasons.CONTENT_FILTER)
        case InputNotFetchable():
            return reasons.stored(reasons.IMAGE_NOT_FETCHABLE)
        case TransientError():
            return reasons.stored(reasons.PROVIDER_TROUBLE, provider=error.provider)
        case _:
            return reasons.stored(
                reasons.PROVIDER_FAILED, provider=error.provider, reason=error.summary
            )
