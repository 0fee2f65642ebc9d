"""Drives jobs through the state machine. Knows nothing of Discord: it talks to a `Presenter`.

Every state is written before its side effect, so a process killed anywhere leaves a row that
says what may have happened:
- SUBMITTING without a provider job id: the POST may have created a paid job -> UNKNOWN, never
  resubmitted;
- SUBMITTED/RUNNING: poll again with the stored provider job id;
- DOWNLOADING: fetch the stored video URL again;
- DELIVERING: look for the posted result first, post only if it is not there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from bot.db import Database
from bot.guild import store as guild_store
from bot.guild.models import NsfwPolicy
from bot.jobs import store
from bot.jobs.models import Job, JobState
from bot.jobs.store import QuotaPolicy
from providers import (
    Cancelled,
    CancelOutcome,
    ContentModerated,
    Downloaded,
    Downloader,
    DownloadTooLarge,
    Failed,
    InputNotFetchable,
    JobUpdate,
    Mode,
    PollCadence,
    Provider,
    ProviderError,
    ProviderName,
    Queued,
    Running,
    StillRunning,
    SubmitOutcomeUnknown,
    Succeeded,
    TransientError,
    VideoRequest,
    wait_for_job,
)

log = logging.getLogger(__name__)


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

    async def show_status(self, job: Job, *, waiting_position: int | None = None) -> None:
        """Show the job's current state on its status message (may be throttled)."""
        ...

    async def deliver(self, job: Job, video: Downloaded | None) -> int:
        """Post the result (the file, or a link when `video` is None); return the message id."""
        ...

    async def find_delivery(self, job: Job) -> int | None:
        """After a restart in DELIVERING: the id of an already posted result, if any."""
        ...


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    quota: QuotaPolicy
    max_concurrent_jobs: int = 2
    lease_seconds: float = 60.0
    cadence: PollCadence = field(default_factory=PollCadence)
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
            return "the provider's content filter refused this request"
        case InputNotFetchable():
            return "the provider could not fetch the image; try again with a fresh upload"
        case TransientError():
            return f"{error.provider} is having trouble right now; try again in a few minutes"
        case _:
            return f"{error.provider} could not make this video ({error.summary})"


class JobRunner:
    def __init__(
        self,
        *,
        db: Database,
        providers: dict[ProviderName, Provider],
        downloader: Downloader,
        config: RunnerConfig,
        presenter: Presenter,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        temp_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.providers = providers
        self.downloader = downloader
        self.config = config
        self.presenter = presenter
        self.owner = owner or f"reelbot-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self.temp_dir = temp_dir
        self.accepting = False
        self._drivers: dict[str, asyncio.Task[None]] = {}
        self._slot_waiters: dict[str, asyncio.Future[None]] = {}
        self._service_tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.accepting = True
        loop = asyncio.get_running_loop()
        for name, coro in (
            ("dispatcher", self._dispatch_loop()),
            ("leases", self._lease_loop()),
            ("recovery", self._recovery_loop()),
            ("reviews", self._review_expiry_loop()),
        ):
            task = loop.create_task(coro, name=f"reelbot-{name}")
            task.add_done_callback(self._service_died)
            self._service_tasks.append(task)

    async def stop(self) -> None:
        """Stop taking work, stop the drivers (their state is already saved), free the leases."""
        self.accepting = False
        tasks = [*self._service_tasks, *self._drivers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._service_tasks.clear()
        await self.db.run(lambda s: store.release_leases(session=s, owner=self.owner))

    def _service_died(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("service task %s died", task.get_name(), exc_info=task.exception())

    @property
    def active_job_ids(self) -> list[str]:
        return list(self._drivers)

    # --- accepting ------------------------------------------------------------------------

    async def accept(
        self,
        job: Job,
        *,
        policy: QuotaPolicy | None = None,
        budget: int | None = None,
        hold: bool = False,
    ) -> Job:
        """Reserve quota and store the job (or, with `hold`, store it for review without
        charging). Raises QuotaExceeded, TooManyInFlight or BudgetExhausted."""
        now = self.clock()
        accepted = await self.db.run(
            lambda s: store.accept(
                session=s,
                job=job,
                policy=policy or self.config.quota,
                now=now,
                owner=self.owner,
                lease_seconds=self.config.lease_seconds,
                budget=budget,
                hold=hold,
            )
        )
        log.info("job %s accepted (%s, user %s)", accepted.id, accepted.provider, accepted.user_id)
        return accepted

    async def abandon(self, job_id: str, reason: str) -> Job | None:
        """Fail an accepted job that never started (e.g. its status message could not be
        posted). The reservation is refunded."""
        now = self.clock()
        return await self.db.run(
            lambda s: store.transition(
                session=s, job_id=job_id, to=JobState.FAILED, now=now, error=reason
            )
        )

    def policy_of(self, job: Job) -> QuotaPolicy:
        """The quota terms the member had when they asked."""
        base = self.config.quota
        return QuotaPolicy(
            limit=job.quota_limit if job.quota_limit is not None else base.limit,
            window_seconds=base.window_seconds,
            max_in_flight=base.max_in_flight,
            cost_5s=base.cost_5s,
            cost_10s=base.cost_10s,
            daily=job.quota_daily,
        )

    async def approve(self, job_id: str, *, moderator_id: int, budget: int | None) -> Job | None:
        """Charge and start a job a moderator approved. Raises QuotaExceeded or
        BudgetExhausted (the job stays pending); None if it was no longer pending."""
        job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))
        if job is None:
            return None
        policy = self.policy_of(job)
        now = self.clock()
        moved = await self.db.run(
            lambda s: store.approve(
                session=s,
                job_id=job_id,
                policy=policy,
                now=now,
                moderator_id=moderator_id,
                budget=budget,
            )
        )
        if moved is not None:
            await self._take(job_id)
            await self._show(moved)
            self.launch(job_id)
        return moved

    async def reject(self, job_id: str, *, moderator_id: int | None, reason: str) -> Job | None:
        return await self._decide(
            job_id, JobState.REJECTED, moderator_id=moderator_id, error=reason
        )

    async def release(self, job_id: str, *, moderator_id: int) -> Job | None:
        """A moderator lets a held (flagged) video be posted."""
        until = self.clock() + self.config.lease_seconds
        moved = await self._decide(
            job_id,
            JobState.DELIVERING,
            moderator_id=moderator_id,
            show=False,
            lease_owner=self.owner,
            lease_expires_at=until,
        )
        if moved is not None:
            self.launch(job_id)
        return moved

    async def discard(self, job_id: str, *, moderator_id: int) -> Job | None:
        return await self._decide(
            job_id,
            JobState.FAILED,
            moderator_id=moderator_id,
            error="a moderator discarded the video after the provider flagged it",
        )

    async def _decide(
        self,
        job_id: str,
        to: JobState,
        *,
        moderator_id: int | None,
        show: bool = True,
        **fields: Any,
    ) -> Job | None:
        """A moderator's (or the review deadline's) move, recorded with who made it."""
        now = self.clock()
        moved = await self.db.run(
            lambda s: store.transition(
                session=s,
                job_id=job_id,
                to=to,
                now=now,
                actor_id=moderator_id,
                moderator_id=moderator_id,
                **fields,
            )
        )
        if moved is not None and show:
            await self._show(moved)
        return moved

    async def _take(self, job_id: str) -> None:
        now = self.clock()
        await self.db.run(
            lambda s: store.update_fields(
                session=s,
                job_id=job_id,
                now=now,
                lease_owner=self.owner,
                lease_expires_at=now + self.config.lease_seconds,
            )
        )

    async def set_fields(self, job_id: str, **fields: Any) -> None:
        now = self.clock()
        await self.db.run(
            lambda s: store.update_fields(session=s, job_id=job_id, now=now, **fields)
        )

    def launch(self, job_id: str, *, resumed: bool = False) -> None:
        """Drive a job in a supervised task (one per job)."""
        if job_id in self._drivers:
            return
        task = asyncio.get_running_loop().create_task(
            self._drive(job_id, resumed=resumed), name=f"job-{job_id}"
        )
        self._drivers[job_id] = task
        task.add_done_callback(lambda t: self._driver_done(job_id, t))
        self._notify()

    def _driver_done(self, job_id: str, task: asyncio.Task[None]) -> None:
        self._drivers.pop(job_id, None)
        waiter = self._slot_waiters.pop(job_id, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()
        if not task.cancelled() and task.exception() is not None:
            log.error("job %s: driver crashed", job_id, exc_info=task.exception())
        self._notify()

    def _notify(self) -> None:
        self._wake.set()

    # --- cancel ---------------------------------------------------------------------------

    async def cancel(self, job_id: str, *, actor_id: int, moderator: bool) -> CancelResult:
        job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))
        if job is None:
            return CancelResult.NOT_FOUND
        if job.user_id != actor_id and not moderator:
            return CancelResult.NOT_ALLOWED
        if job.state.is_final:
            return CancelResult.FINISHED
        now = self.clock()
        note = (
            "cancelled by the requester" if actor_id == job.user_id else "cancelled by a moderator"
        )
        if job.state in (JobState.ACCEPTED, JobState.PENDING_REVIEW):
            moved = await self._move(
                job_id, JobState.CANCELLED, now=now, owned=False, error=note, actor_id=actor_id
            )
            if moved is None:
                return await self.cancel(job_id, actor_id=actor_id, moderator=moderator)
            await self._finish(moved)
            return CancelResult.CANCELLED
        if job.state is JobState.SUBMITTING:
            return CancelResult.BUSY
        if job.state in (JobState.DOWNLOADING, JobState.DELIVERING, JobState.HELD):
            return CancelResult.TOO_LATE
        provider = self.providers.get(ProviderName(job.provider))
        if provider is None or job.provider_job_id is None:
            return CancelResult.UNSUPPORTED
        try:
            outcome = await provider.cancel(job.provider_job_id)
        except ProviderError as error:
            log.warning("job %s: cancel failed: %s", job_id, error.admin_message)
            return CancelResult.NOT_CANCELLABLE
        match outcome:
            case CancelOutcome.CANCELLED:
                moved = await self._move(
                    job_id,
                    JobState.CANCELLED,
                    now=self.clock(),
                    owned=False,
                    error=note,
                    actor_id=actor_id,
                )
                if moved is not None:
                    await self._finish(moved)
                return CancelResult.CANCELLED
            case CancelOutcome.NOT_CANCELLABLE:
                return CancelResult.NOT_CANCELLABLE
            case CancelOutcome.UNSUPPORTED:
                return CancelResult.UNSUPPORTED

    async def _move(
        self, job_id: str, to: JobState, *, now: float, owned: bool = True, **fields: Any
    ) -> Job | None:
        """Compare-and-set the job's state. Driver moves also require this process's lease;
        a cancel (`owned=False`) may come from any process."""
        owner = self.owner if owned else None
        return await self.db.run(
            lambda s: store.transition(
                session=s, job_id=job_id, to=to, now=now, owner=owner, **fields
            )
        )

    async def _finish(self, job: Job) -> None:
        """A job reached a final state outside its driver: stop the driver, show the end."""
        task = self._drivers.get(job.id)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        await self._show(job)

    # --- background loops -----------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        """Start waiting jobs in global FIFO order while provider slots are free."""
        last_positions: dict[str, int] = {}
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races
            # with the event being set, which would hang shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._wake.wait()
            self._wake.clear()
            waiting = [j for j, f in self._slot_waiters.items() if not f.done()]
            if not waiting:
                continue
            claimed, positions = await self.db.run(
                partial(
                    _dispatch,
                    mine=set(waiting),
                    cap=self.config.max_concurrent_jobs,
                    owner=self.owner,
                    now=self.clock(),
                )
            )
            for job in claimed:
                future = self._slot_waiters.pop(job.id, None)
                if future is not None and not future.done():
                    future.set_result(None)
            for job, position in positions:
                if last_positions.get(job.id) != position:
                    last_positions[job.id] = position
                    await self._show(job, waiting_position=position)
            for gone in set(last_positions) - {j.id for j, _ in positions}:
                del last_positions[gone]

    async def _lease_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.lease_seconds / 3)
            await self.db.run(
                partial(
                    _renew,
                    owner=self.owner,
                    job_ids=list(self._drivers),
                    until=self.clock() + self.config.lease_seconds,
                )
            )

    async def _recovery_loop(self) -> None:
        """Take over unfinished jobs whose process died. Runs at once, then every few seconds."""
        while True:
            if self.accepting:
                now = self.clock()
                claimed = await self.db.run(
                    partial(
                        _claim_orphans,
                        owner=self.owner,
                        now=now,
                        until=now + self.config.lease_seconds,
                    )
                )
                for job_id in claimed:
                    if job_id not in self._drivers:
                        log.info("job %s: resuming after a restart", job_id)
                        await self._remove_temp_files(job_id)
                        self.launch(job_id, resumed=True)
            await asyncio.sleep(min(5.0, self.config.lease_seconds / 4))

    async def _review_expiry_loop(self) -> None:
        """Pending reviews that nobody decided in time are rejected (nothing was charged)."""
        while True:
            await self.expire_reviews()
            await asyncio.sleep(self.config.review_check_seconds)

    async def expire_reviews(self) -> int:
        """One pass: reject every request that waited for review too long."""
        now = self.clock()
        expired = await self.db.run(
            partial(_expired_reviews, now=now, default_hours=self.config.review_expiry_hours)
        )
        for job_id in expired:
            await self.reject(job_id, moderator_id=None, reason="no moderator reviewed it in time")
        return len(expired)

    async def _remove_temp_files(self, job_id: str) -> None:
        """A killed process may have left a half-written download behind."""
        directory = self.temp_dir
        if directory is None:
            return

        def remove() -> None:
            for path in directory.glob(f"reelbot-{job_id}-*"):
                path.unlink(missing_ok=True)

        await asyncio.to_thread(remove)

    # --- the driver -----------------------------------------------------------------------

    async def _drive(self, job_id: str, *, resumed: bool) -> None:
        job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))
        while job is not None and not job.state.is_final:
            if job.lease_owner != self.owner:
                log.info("job %s: now owned by %s; stopping here", job_id, job.lease_owner)
                return
            match job.state:
                case JobState.ACCEPTED:
                    job = await self._wait_for_slot(job)
                    resumed = False
                case JobState.SUBMITTING:
                    job = await (self._submit_lost(job) if resumed else self._submit(job))
                case JobState.SUBMITTED | JobState.RUNNING:
                    job = await self._poll(job)
                case JobState.DOWNLOADING | JobState.DELIVERING:
                    job = await self._download_and_deliver(job, resumed=resumed)
                case _:
                    return
            if job is None:  # someone else moved it (a cancel): re-read
                job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))

    async def _wait_for_slot(self, job: Job) -> Job | None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters[job.id] = future
        self._notify()
        await future
        return await self.db.run(lambda s: store.get(session=s, job_id=job.id))

    async def _submit_lost(self, job: Job) -> Job | None:
        log.warning("job %s: the process stopped during the submit; outcome unknown", job.id)
        moved = await self._move(
            job.id,
            JobState.UNKNOWN,
            now=self.clock(),
            error="the bot restarted while sending this job; an admin will check it",
        )
        if moved is not None:
            await self._show(moved)
        return moved

    async def _submit(self, job: Job) -> Job | None:
        provider = self.providers.get(ProviderName(job.provider))
        if provider is None:
            return await self._fail(job, f"{job.provider} is no longer configured")
        request = VideoRequest(
            mode=Mode(job.mode),
            prompt=job.prompt or "",
            aspect_ratio=job.aspect_ratio,
            duration=job.duration,
            resolution=job.resolution,
            seed=job.seed,
            image_url=job.image_url,
        )
        if job.mode == Mode.IMAGE and provider.capabilities(Mode.IMAGE).aspect_ratios == ():
            request = request.model_copy(update={"aspect_ratio": None})
        await self._show(job)
        try:
            provider_job_id = await provider.submit(request)
        except SubmitOutcomeUnknown as error:
            log.warning("job %s: %s", job.id, error.admin_message)
            moved = await self._move(
                job.id,
                JobState.UNKNOWN,
                now=self.clock(),
                error="the provider did not confirm the job; an admin will check it",
            )
            if moved is not None:
                await self._show(moved)
            return moved
        except ProviderError as error:
            log.warning("job %s: submit refused: %s", job.id, error.admin_message)
            return await self._fail(job, user_reason(error))
        now = self.clock()
        log.info("job %s: submitted to %s as %s", job.id, job.provider, provider_job_id)
        moved = await self._move(
            job.id, JobState.SUBMITTED, now=now, provider_job_id=provider_job_id, submitted_at=now
        )
        if moved is not None:
            await self._show(moved)
        return moved

    async def _poll(self, job: Job) -> Job | None:
        provider = self.providers.get(ProviderName(job.provider))
        if provider is None or job.provider_job_id is None:
            return await self._move(
                job.id,
                JobState.UNKNOWN,
                now=self.clock(),
                error=f"{job.provider} is no longer configured; an admin will check this job",
            )
        current = job

        async def on_update(update: JobUpdate) -> None:
            nonlocal current
            now = self.clock()
            match update:
                case Queued(position=position):
                    await self.set_fields(job.id, queue_position=position)
                    current.queue_position = position
                    await self._show(current)
                case Running():
                    moved = await self._move(job.id, JobState.RUNNING, now=now, started_at=now)
                    if moved is not None:
                        current = moved
                        await self._show(current)
                case _:
                    pass

        elapsed = self.clock() - (job.submitted_at or job.created_at)
        try:
            outcome = await wait_for_job(
                provider,
                job.provider_job_id,
                cadence=self.config.cadence,
                deadline=self.config.deadline_seconds,
                on_update=on_update,
                elapsed_at_start=max(0.0, elapsed),
            )
        except ProviderError as error:
            log.warning("job %s: polling failed: %s", job.id, error.admin_message)
            return await self._fail(job, user_reason(error))
        now = self.clock()
        match outcome:
            case Succeeded(video_url=url, nsfw=nsfw):
                log.info("job %s: finished at %s", job.id, job.provider)
                return await self._move(
                    job.id, JobState.DOWNLOADING, now=now, video_url=url, nsfw=nsfw
                )
            case Failed(reason=reason, moderated=moderated):
                log.info("job %s: failed at the provider: %s", job.id, reason)
                text = (
                    "the provider's content filter refused this request"
                    if moderated
                    else f"{provider.label} could not make this video: {reason}"
                )
                return await self._fail(job, text)
            case Cancelled():
                moved = await self._move(
                    job.id, JobState.CANCELLED, now=now, error="cancelled at the provider"
                )
                if moved is not None:
                    await self._show(moved)
                return moved
            case StillRunning(elapsed=waited):
                log.warning("job %s: no result after %.0f s", job.id, waited)
                moved = await self._move(
                    job.id,
                    JobState.UNKNOWN,
                    now=now,
                    error=f"no result after {waited / 60:.0f} minutes; an admin will check it",
                )
                if moved is not None:
                    await self._show(moved)
                return moved

    async def _download_and_deliver(self, job: Job, *, resumed: bool) -> Job | None:
        if job.state is JobState.DELIVERING and resumed:
            found = await self.presenter.find_delivery(job)
            if found is not None:
                log.info("job %s: result was already posted (message %s)", job.id, found)
                moved = await self._move(
                    job.id, JobState.DELIVERED, now=self.clock(), result_message_id=found
                )
                if moved is not None:
                    await self._show(moved)
                return moved
        assert job.video_url is not None  # noqa: S101 - stored before DOWNLOADING
        video: Downloaded | None = None
        try:
            try:
                video = await self._download(job)
            except DownloadTooLarge:
                video = None  # post a link instead
            except ProviderError as error:
                log.warning("job %s: download failed: %s", job.id, error.admin_message)
                return await self._fail(job, "the finished video could not be fetched")
            if job.state is JobState.DOWNLOADING and job.nsfw and not job.channel_nsfw:
                held = await self._apply_nsfw_policy(job, video)
                if held is not None:
                    return held
            if job.state is JobState.DOWNLOADING:
                moved = await self._move(job.id, JobState.DELIVERING, now=self.clock())
                if moved is None:
                    return None
                job = moved
            try:
                message_id = await self.presenter.deliver(job, video)
            except DeliveryFailed as error:
                return await self._fail(job, error.reason)
            moved = await self._move(
                job.id, JobState.DELIVERED, now=self.clock(), result_message_id=message_id
            )
            if moved is not None:
                log.info("job %s: delivered (message %s)", job.id, message_id)
                await self._show(moved)
            return moved
        finally:
            if video is not None:
                await asyncio.to_thread(video.path.unlink, missing_ok=True)

    async def _apply_nsfw_policy(self, job: Job, video: Downloaded | None) -> Job | None:
        """A flagged video in a channel that is not age-restricted is never posted openly.
        Returns the job if the policy took it (held or discarded), None to post behind a
        spoiler."""
        config = await self.db.run(
            lambda s: guild_store.config(session=s, guild_id=job.guild_id or 0)
        )
        policy = config.nsfw_policy
        if policy is NsfwPolicy.REVIEW and config.review_channel_id is None:
            log.warning("job %s: NSFW policy is review but no review channel is set", job.id)
            policy = NsfwPolicy.SPOILER
        if policy is NsfwPolicy.SPOILER:
            return None
        if policy is NsfwPolicy.DISCARD:
            return await self._fail(
                job,
                "the provider flagged the video as not safe for work, "
                "and this server discards those",
            )
        held = await self._move(job.id, JobState.HELD, now=self.clock())
        if held is None:
            return None
        try:
            message_id = await self.presenter.hold_for_review(held, video)
        except DeliveryFailed as error:
            return await self._fail(held, error.reason)
        await self.set_fields(job.id, review_message_id=message_id)
        held.review_message_id = message_id
        await self._show(held)
        return held

    async def _download(self, job: Job) -> Downloaded:
        assert job.video_url is not None  # noqa: S101
        attempt = 0
        while True:
            try:
                return await self.downloader.fetch(
                    job.video_url, provider=ProviderName(job.provider).label, prefix=job.id
                )
            except TransientError:
                attempt += 1
                if attempt >= self.config.download_attempts:
                    raise
                await asyncio.sleep(2.0 * attempt)

    async def _fail(self, job: Job, reason: str) -> Job | None:
        moved = await self._move(job.id, JobState.FAILED, now=self.clock(), error=reason)
        if moved is not None:
            await self._show(moved)
        return moved

    async def _show(self, job: Job, *, waiting_position: int | None = None) -> None:
        try:
            await self.presenter.show_status(job, waiting_position=waiting_position)
        except Exception:  # a status edit must never stop a job
            log.exception("job %s: could not update the status message", job.id)


def _dispatch(
    session: Any, *, mine: set[str], cap: int, owner: str, now: float
) -> tuple[list[Job], list[tuple[Job, int]]]:
    """One transaction: claim free slots for the oldest waiting jobs, report the others'
    positions in the global queue."""
    from sqlmodel import col, func, select

    busy = session.exec(
        select(func.count())
        .select_from(Job)
        .where(col(Job.state).in_((JobState.SUBMITTING, JobState.SUBMITTED, JobState.RUNNING)))
    ).one()
    free = max(0, cap - int(busy))
    queue = session.exec(
        select(Job).where(Job.state == JobState.ACCEPTED).order_by(col(Job.created_at), col(Job.id))
    ).all()
    claimed: list[Job] = []
    positions: list[tuple[Job, int]] = []
    for index, job in enumerate(queue):
        if free > 0 and job.id in mine:
            moved = store.transition(
                session=session, job_id=job.id, to=JobState.SUBMITTING, now=now, owner=owner
            )
            if moved is not None:
                claimed.append(moved)
                free -= 1
                continue
        if job.id not in mine:
            free = 0  # FIFO: an older job of another process goes first; it will claim it
        if job.id in mine:
            positions.append((job, index + 1 - len(claimed)))
    return claimed, positions


def _expired_reviews(session: Any, *, now: float, default_hours: float) -> list[str]:
    return store.expired_reviews(session=session, now=now, default_hours=default_hours)


def _renew(session: Any, *, owner: str, job_ids: list[str], until: float) -> None:
    store.renew_leases(session=session, owner=owner, job_ids=job_ids, until=until)


def _claim_orphans(session: Any, *, owner: str, now: float, until: float) -> list[str]:
    return store.claim_orphans(session=session, owner=owner, now=now, until=until)
