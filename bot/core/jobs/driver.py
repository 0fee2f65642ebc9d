"""The steps one job goes through, from its slot to its posted result. Composed by
`JobRunner`, which owns the life cycle, the queue and the leases.

Every state is written before its side effect; see `bot.core.jobs.runner` for what a restart
finds in each state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.core.db import Database
from bot.core.guild import store as guild_store
from bot.core.guild.models import NsfwPolicy
from bot.core.jobs import fence, learning, reasons, store
from bot.core.jobs.contracts import DeliveryFailed, Presenter, RunnerConfig, user_reason
from bot.core.jobs.fitting import ResultFitter
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.moves import JobMoves, LeaseLost
from bot.core.jobs.submitting import SubmitStep, missing_for_submit
from bot.core.observability import logs
from providers import (
    Cancelled,
    Downloaded,
    Downloader,
    DownloadTooLarge,
    Failed,
    JobUpdate,
    Mode,
    Provider,
    ProviderError,
    ProviderName,
    Queued,
    Running,
    StillRunning,
    Succeeded,
    TransientError,
    wait_for_job,
)
from providers.webhooks import Wakeups, watched

log = logging.getLogger(__name__)


MAX_CRASHES = 3


class AfterDelivery(Protocol):
    """A step after a result is posted and before the job is DELIVERED (a chain's joined
    video, `bot.core.extend`). A restart in DELIVERING runs it again once the result is found."""

    async def run(self, job: Job, *, message_id: int, moves: JobMoves) -> None: ...


class JobDriver:
    """Drives one job at a time through its steps; the runner launches one per job."""

    def __init__(
        self,
        *,
        db: Database,
        moves: JobMoves,
        submitter: SubmitStep,
        providers: dict[ProviderName, Provider],
        downloader: Downloader,
        config: RunnerConfig,
        presenter: Presenter,
        owner: str,
        clock: Callable[[], float],
        wait_for_slot: Callable[[str], Awaitable[None]],
        wakeups: Wakeups | None = None,
        fitter: ResultFitter | None = None,
        after_delivery: AfterDelivery | None = None,
    ) -> None:
        self.db = db
        self.moves = moves
        self.submitter = submitter
        self.providers = providers
        self.downloader = downloader
        self.config = config
        self.presenter = presenter
        self.owner = owner
        self.clock = clock
        self.wait_for_slot = wait_for_slot  # returns once the dispatcher gave the job a slot
        self.wakeups = wakeups  # provider callbacks wake polling jobs (WEBHOOK_PUBLIC_URL)
        self.fitter = fitter  # re-encodes a result over the upload limit; None: link only
        self.after_delivery = after_delivery

    async def drive(self, job_id: str, *, resumed: bool) -> bool:
        """Drive one job to its end. An unexpected error is logged and the job is settled or
        retried by the rules of its state, so it never sits on a slot until its lease lapses.

        The driver acts under the claim of the lease its process holds when it starts (its
        epoch, `fence`). True if it stopped because the lease moved on and came back to this
        process under a newer claim: the job is to be driven again, by a fresh driver that
        reads what the other process did."""
        logs.bind(job_id=job_id)  # this task's log lines carry the job id
        job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))
        if job is None or job.lease_owner != self.owner:
            return False
        epoch = job.lease_epoch
        del job  # each step reads its own: no copy is kept for the job's whole life
        fence.bind(epoch)  # this task's fenced writes carry it
        crashes = 0
        while True:
            try:
                await self._steps(job_id, resumed=resumed)
                return False
            except LeaseLost:
                log.info("job %s: its lease moved on; this driver stops here", job_id)
                return await self._came_back(job_id, epoch)
            except Exception:
                crashes += 1
                log.exception("job %s: driver crashed (%d of %d)", job_id, crashes, MAX_CRASHES)
            if await self._after_crash(job_id, crashes):
                return False
            resumed = True
            await asyncio.sleep(min(2.0**crashes, 30.0))

    async def _came_back(self, job_id: str, epoch: int) -> bool:
        """After this driver lost its lease: True if the job is this process's again, under a
        newer claim, and still needs a driver."""
        job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))
        return (
            job is not None
            and not job.state.is_final
            and job.state not in (JobState.HELD, JobState.PENDING_REVIEW)
            and job.lease_owner == self.owner
            and job.lease_epoch != epoch
        )

    def _holds(self, job: Job) -> bool:
        """This driver still holds the job's lease: its process, under its claim."""
        return job.lease_owner == self.owner and job.lease_epoch == fence.current()

    async def _steps(self, job_id: str, *, resumed: bool) -> None:
        job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))
        while job is not None and not job.state.is_final:
            if not self._holds(job):
                log.info("job %s: now held by %s; stopping here", job_id, job.lease_owner)
                raise LeaseLost(job_id)
            match job.state:
                case JobState.ACCEPTED:
                    if resumed and job.status_message_id is None:
                        job = await self._find_status(job)
                    unready = self._not_ready(job, resumed=resumed)
                    if unready is not None:
                        job = await self.moves.fail(job, unready)
                    else:
                        job = await self._wait_for_slot(job)
                    resumed = False
                case JobState.SUBMITTING:
                    job = await (
                        self.submitter.resume(job) if resumed else self.submitter.submit(job)
                    )
                case JobState.SUBMITTED | JobState.RUNNING:
                    job = await self._poll(job)
                case JobState.DOWNLOADING | JobState.DELIVERING:
                    job = await self._download_and_deliver(job, resumed=resumed)
                case _:
                    return
            if job is None:  # someone else moved it (a cancel): re-read
                job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))

    @staticmethod
    def _not_ready(job: Job, *, resumed: bool) -> str | None:
        """An accepted job is set up (status message posted, image saved) before it is
        launched; one taken over after its process died half-way is not sent."""
        if resumed and job.status_message_id is None:
            return reasons.stored(reasons.RESTARTED_BEFORE_SET_UP)
        missing = missing_for_submit(job)
        if missing is None:
            return None
        if resumed:
            return reasons.stored(reasons.RESTARTED_BEFORE_READY, missing=missing)
        return reasons.stored(reasons.NOT_SENDABLE, missing=missing)

    async def _find_status(self, job: Job) -> Job:
        """The process died between posting the status message and storing its id: look for
        it, with the image re-hosted on it, so the job can go on."""
        found = await self.presenter.find_status(job)
        if found is None:
            return job
        message_id, image_url = found
        fields: dict[str, Any] = {"status_message_id": message_id}
        if job.mode == Mode.IMAGE and job.image_url is None and image_url is not None:
            fields["image_url"] = image_url
        log.info("job %s: found its status message %s after a restart", job.id, message_id)
        await self.moves.set_fields(job.id, **fields)
        for name, value in fields.items():
            setattr(job, name, value)
        return job

    async def _after_crash(self, job_id: str, crashes: int) -> bool:
        """Settle a job whose driver crashed, or say it should be driven again (False)."""
        job = await self.db.run(lambda s: store.get(session=s, job_id=job_id))
        if job is None or job.state.is_final or not self._holds(job):
            return True
        if job.state in (JobState.HELD, JobState.PENDING_REVIEW):
            return True  # a moderator decides what happens next
        sent = job.state is not JobState.ACCEPTED and (
            job.state is not JobState.SUBMITTING or job.submit_attempted_at is not None
        )
        if not sent:
            await self.moves.fail(job, reasons.stored(reasons.CRASHED_BEFORE_SENDING))
        elif job.state is JobState.SUBMITTING:
            await self.moves.settle(
                job.id,
                JobState.UNKNOWN,
                reasons.stored(reasons.CRASHED_WHILE_SENDING),
            )
        elif crashes < MAX_CRASHES:
            return False  # poll, download or post again, as after a restart
        elif job.state.at_provider:
            await self.moves.settle(
                job.id,
                JobState.UNKNOWN,
                reasons.stored(reasons.CRASHED_WHILE_WAITING),
            )
        else:
            await self.moves.fail(job, reasons.stored(reasons.CRASHED_WHILE_POSTING))
        self.moves.notify()
        return True

    async def _wait_for_slot(self, job: Job) -> Job | None:
        await self.wait_for_slot(job.id)
        return await self.db.run(lambda s: store.get(session=s, job_id=job.id))

    async def _poll(self, job: Job) -> Job | None:
        provider = self.providers.get(ProviderName(job.provider))
        if provider is None or job.provider_job_id is None:
            return await self.moves.settle(
                job.id,
                JobState.UNKNOWN,
                reasons.stored(reasons.PROVIDER_GONE_UNKNOWN, provider=job.provider),
            )
        logs.bind(provider=job.provider, provider_job_id=job.provider_job_id, guild_id=job.guild_id)

        async def on_update(update: JobUpdate) -> None:
            now = self.clock()
            match update:
                case Queued(position=position):
                    await self.moves.set_fields(job.id, queue_position=position)
                    job.queue_position = position
                    await self.moves.show(job)
                case Running():
                    moved = await self.moves.move(job.id, JobState.RUNNING, now=now, started_at=now)
                    if moved is not None:
                        # One copy of the job per driver for as long as it runs: the newer read's
                        # values become this one's (those the rest of the poll reads, its id,
                        # times and configuration, do not change).
                        store.absorb(job, moved)
                        await self.moves.show(job)
                case _:
                    pass

        elapsed = self.clock() - (job.submitted_at or job.created_at)
        learned = await learning.cadence_for(
            db=self.db,
            job=job,
            fallback=self.config.cadence,
            schedule=self.config.learned,
            elapsed=elapsed,
        )
        watch = watched(self.wakeups, provider.name, job.provider_job_id, default=learned)
        try:
            with watch as (cadence, wake):  # a provider callback, if any, wakes the wait
                outcome = await wait_for_job(
                    provider,
                    job.provider_job_id,
                    cadence=cadence,
                    deadline=self.config.deadline_seconds,
                    on_update=on_update,
                    elapsed_at_start=max(0.0, elapsed),
                    wake=wake,
                )
        except ProviderError as error:
            log.warning("job %s: polling failed: %s", job.id, error.admin_message)
            return await self.moves.fail(job, user_reason(error))
        now = self.clock()
        match outcome:
            case Succeeded(video_url=url, nsfw=nsfw):
                log.info("job %s: finished at %s", job.id, job.provider)
                await learning.record_finished(
                    db=self.db, job=job, cadence=cadence, outcome=outcome, now=now
                )
                return await self.moves.move(
                    job.id, JobState.DOWNLOADING, now=now, video_url=url, nsfw=nsfw
                )
            case Failed(reason=reason, moderated=moderated):
                log.info("job %s: failed at the provider: %s", job.id, reason)
                text = (
                    reasons.stored(reasons.CONTENT_FILTER)
                    if moderated
                    else reasons.stored(
                        reasons.PROVIDER_FAILED_SAYING, provider=provider.label, reason=reason
                    )
                )
                return await self.moves.fail(job, text)
            case Cancelled():
                moved = await self.moves.move(
                    job.id,
                    JobState.CANCELLED,
                    now=now,
                    error=reasons.stored(reasons.CANCELLED_AT_PROVIDER),
                )
                if moved is not None:
                    await self.moves.show(moved)
                return moved
            case StillRunning(elapsed=waited):
                log.warning("job %s: no result after %.0f s", job.id, waited)
                moved = await self.moves.move(
                    job.id,
                    JobState.UNKNOWN,
                    now=now,
                    error=reasons.stored(reasons.NO_RESULT, minutes=f"{waited / 60:.0f}"),
                )
                if moved is not None:
                    await self.moves.show(moved)
                return moved

    async def _download_and_deliver(self, job: Job, *, resumed: bool) -> Job | None:
        if job.state is JobState.DELIVERING and resumed:
            found = await self.presenter.find_delivery(job)
            if found is not None:
                log.info("job %s: result was already posted (message %s)", job.id, found)
                await self._after_delivery(job, found)
                moved = await self.moves.move(
                    job.id, JobState.DELIVERED, now=self.clock(), result_message_id=found
                )
                if moved is not None:
                    await self.moves.show(moved)
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
                return await self.moves.fail(job, reasons.stored(reasons.NOT_FETCHED))
            if video is not None and self.fitter is not None:
                # Too large for the channel: a re-encoded copy, or None for the link alone.
                # A restart before the post downloads and re-encodes again.
                video = await self.fitter.fit(job, video)
            if job.state is JobState.DOWNLOADING and job.nsfw and not job.channel_nsfw:
                held = await self._apply_nsfw_policy(job, video)
                if held is not None:
                    return held
            if job.state is JobState.DOWNLOADING:
                moved = await self.moves.move(job.id, JobState.DELIVERING, now=self.clock())
                if moved is None:
                    return None
                job = moved
            if not await self.moves.still_holds(job.id):
                log.info("job %s: taken over before its result was posted; not posting", job.id)
                return None
            try:
                message_id = await self.presenter.deliver(job, video)
            except DeliveryFailed as error:
                return await self.moves.fail(job, error.reason)
            # Posted: the file goes before anything slow (a kill must not leave it behind).
            if video is not None:
                await asyncio.to_thread(video.path.unlink, missing_ok=True)
                video = None
            await self._after_delivery(job, message_id)
            moved = await self.moves.move(
                job.id, JobState.DELIVERED, now=self.clock(), result_message_id=message_id
            )
            if moved is not None:
                log.info("job %s: delivered (message %s)", job.id, message_id)
                await self.moves.show(moved)
            return moved
        finally:
            if video is not None:
                await asyncio.to_thread(video.path.unlink, missing_ok=True)

    async def _after_delivery(self, job: Job, message_id: int) -> None:
        if self.after_delivery is not None:
            await self.after_delivery.run(job, message_id=message_id, moves=self.moves)

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
            return await self.moves.fail(job, reasons.stored(reasons.DISCARDED_AS_NSFW))
        held = await self.moves.move(job.id, JobState.HELD, now=self.clock())
        if held is None:
            return None
        if not await self.moves.still_holds(job.id):
            return None
        try:
            message_id = await self.presenter.hold_for_review(held, video)
        except DeliveryFailed as error:
            return await self.moves.fail(held, error.reason)
        await self.moves.set_fields(
            job.id, review_message_id=message_id, review_channel_id=config.review_channel_id
        )
        held.review_message_id, held.review_channel_id = message_id, config.review_channel_id
        await self.moves.show(held)
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
