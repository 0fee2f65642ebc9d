"""The paid submit, the one step that may cost money without a trace on our side.

`submit_attempted_at` is committed immediately before the POST, after every status edit, so a
restart knows which SUBMITTING jobs may have sent something (-> UNKNOWN, never resubmitted) and
which provably sent nothing (-> submitted again). A 429, or a connection that was never made,
created no job: the job keeps its slot, waits as the provider asks (bounded), and tries again,
unless another provider may take it (`bot.core.jobs.failover`). Anything else after sending
(a 5xx, an answer without a job id, a lost answer) may have created a paid job: UNKNOWN.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import ValidationError

from bot.core.db import Database
from bot.core.jobs import fence, reasons, store
from bot.core.jobs.contracts import Presenter, RunnerConfig, user_reason
from bot.core.jobs.failover import (
    Move,
    created_nothing,
    failover_enabled,
    failover_reason,
    move_provider,
    next_provider,
)
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.moves import JobMoves
from providers import (
    Mode,
    Provider,
    ProviderError,
    ProviderName,
    RateLimited,
    SubmitNotSent,
    VideoRequest,
)

log = logging.getLogger(__name__)

DEFAULT_SUBMIT_WAIT = 30.0  # WaveSpeed's lowest tier: 2 videos a minute
MAX_SUBMIT_WAIT = 120.0


def submit_wait(error: ProviderError) -> float:
    """How long to wait before sending a submit the provider did not take: its Retry-After,
    bounded, or a default that fits a 2-per-minute limit."""
    if error.retry_after is not None:
        return min(max(error.retry_after, 0.5), MAX_SUBMIT_WAIT)
    return DEFAULT_SUBMIT_WAIT if isinstance(error, RateLimited) else 5.0


def missing_for_submit(job: Job) -> str | None:
    """What an accepted job still lacks before it may be sent, in the member's words."""
    if job.mode == Mode.IMAGE and not job.image_url:
        return reasons.stored(reasons.IMAGE_NOT_SAVED)
    return None


def build_request(job: Job, provider: Provider, *, image_url: str | None) -> VideoRequest:
    """Raises ValueError (pydantic's ValidationError) when the stored job cannot be sent."""
    request = VideoRequest(
        mode=Mode(job.mode),
        prompt=job.prompt or "",
        aspect_ratio=job.aspect_ratio,
        duration=job.duration,
        resolution=job.resolution,
        seed=job.seed,
        image_url=image_url,
    )
    if job.mode == Mode.IMAGE and provider.capabilities(Mode.IMAGE).aspect_ratios == ():
        request = request.model_copy(update={"aspect_ratio": None})
    return request


def _mark_attempt(session: Any, *, job_id: str, owner: str, epoch: int | None, now: float) -> bool:
    return store.mark_submit_attempt(
        session=session, job_id=job_id, owner=owner, epoch=epoch, now=now
    )


class SubmitStep:
    """Sends one job's paid submit and records its outcome."""

    def __init__(
        self,
        *,
        db: Database,
        moves: JobMoves,
        providers: dict[ProviderName, Provider],
        config: RunnerConfig,
        presenter: Presenter,
        owner: str,
        clock: Callable[[], float],
    ) -> None:
        self.db = db
        self.moves = moves
        self.providers = providers
        self.config = config
        self.presenter = presenter
        self.owner = owner
        self.clock = clock
        self._on_the_wire: set[asyncio.Task[Job | None]] = set()

    async def resume(self, job: Job) -> Job | None:
        """After a restart: send again only what provably was not sent."""
        if job.submit_attempted_at is None:
            log.info("job %s: no submit was sent before the restart; sending it now", job.id)
            return await self.submit(job)
        log.warning("job %s: the process stopped during the submit; outcome unknown", job.id)
        return await self.moves.settle(
            job.id,
            JobState.UNKNOWN,
            reasons.stored(reasons.RESTARTED_WHILE_SENDING),
        )

    async def submit(self, job: Job) -> Job | None:
        provider = self.providers.get(ProviderName(job.provider))
        if provider is None:
            return await self.moves.fail(
                job, reasons.stored(reasons.PROVIDER_GONE, provider=job.provider)
            )
        missing = missing_for_submit(job)
        if missing is not None:
            return await self.moves.fail(job, reasons.stored(reasons.NOT_SENDABLE, missing=missing))
        await self.moves.show(job)
        deadline = job.created_at + self.config.deadline_seconds
        while True:
            image_url = job.image_url
            if job.mode == Mode.IMAGE:
                # Chat attachment URLs are signed and expire (about 24 h): however long the
                # job waited, the provider gets one signed just now.
                image_url = await self.presenter.fresh_image_url(job)
                if image_url is None:
                    return await self.moves.fail(job, reasons.stored(reasons.IMAGE_GONE))
            try:
                request = build_request(job, provider, image_url=image_url)
            except (ValidationError, ValueError) as error:  # e.g. its prompt was erased
                log.warning("job %s: the stored request is not valid: %s", job.id, error)
                return await self.moves.fail(job, reasons.stored(reasons.NOT_BUILDABLE))
            marked = await self.db.run(
                partial(
                    _mark_attempt,
                    job_id=job.id,
                    owner=self.owner,
                    epoch=fence.current(),
                    now=self.clock(),
                ),
                idempotent=True,  # nothing is on the wire yet: writing it twice is harmless
            )
            if not marked:
                return None  # cancelled or taken over: re-read
            try:
                moved = await self._send(job, provider, request)
            except ProviderError as error:
                if not created_nothing(error):
                    # A 5xx, an answer without a job id, a lost answer: a paid job may exist.
                    log.warning("job %s: %s", job.id, error.admin_message)
                    return await self.moves.settle(
                        job.id,
                        JobState.UNKNOWN,
                        reasons.stored(reasons.NOT_CONFIRMED),
                    )
                elsewhere = await self._fail_over(job, error, image_url)
                if elsewhere is not None:
                    job, provider = elsewhere
                    continue
                if isinstance(error, RateLimited | SubmitNotSent):
                    waiting = await self._wait_to_resubmit(job, error, deadline)
                    if waiting is None:
                        return None
                    if not waiting:
                        return await self.moves.fail(job, user_reason(error))
                    continue
                log.warning("job %s: submit refused: %s", job.id, error.admin_message)
                return await self.moves.fail(job, user_reason(error))
            break
        if moved is not None:
            await self.moves.show(moved)
        return moved

    async def _send(self, job: Job, provider: Provider, request: VideoRequest) -> Job | None:
        """POST the submit and store the provider's job id, as one step that a stop lets
        finish (`wait_sent`): cut off mid-POST, the provider may still create the paid job,
        and without its id the job could only be marked unknown."""
        task = asyncio.get_running_loop().create_task(
            self._post_and_record(job, provider, request), name=f"submit-{job.id}"
        )
        self._on_the_wire.add(task)
        task.add_done_callback(self._on_the_wire.discard)
        return await asyncio.shield(task)

    async def _post_and_record(
        self, job: Job, provider: Provider, request: VideoRequest
    ) -> Job | None:
        provider_job_id = await provider.submit(request)
        now = self.clock()
        log.info("job %s: submitted to %s as %s", job.id, job.provider, provider_job_id)
        return await self.moves.move(
            job.id,
            JobState.SUBMITTED,
            now=now,
            provider_job_id=provider_job_id,
            submitted_at=now,
            submit_retry_at=None,
        )

    async def wait_sent(self, grace: float) -> None:
        """At a stop, after the drivers were cancelled and before the leases are freed: let
        the submits on the wire get their answer and store the provider's job id, so the next
        process polls those jobs. One still unanswered after `grace` seconds is cut off and left
        for the next process to mark unknown, as after a kill."""
        pending = list(self._on_the_wire)
        if not pending:
            return
        log.info("stopping: waiting for %d submit(s) already sent", len(pending))
        _, unanswered = await asyncio.wait(pending, timeout=grace)
        for task in unanswered:
            log.warning("%s got no answer in %.0f s; cut off", task.get_name(), grace)
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _fail_over(
        self, job: Job, error: ProviderError, image_url: str | None
    ) -> tuple[Job, Provider] | None:
        """Move the job to its next failover provider when this refusal allows it (it created
        nothing, for a reason another provider does not share) and the server has failover
        on. Returns the moved job and its provider, or None (the caller handles the error)."""
        reason = failover_reason(error)
        if reason is None or not job.failover_providers:
            return None
        choice = next_provider(
            job, self.providers, lambda p: build_request(job, p, image_url=image_url)
        )
        if choice is None:
            return None
        to, remaining = choice
        enabled = await self.db.run(lambda s: failover_enabled(s, guild_id=job.guild_id))
        if not enabled:
            log.info("job %s: failover is off on this server; not moving it", job.id)
            return None
        now = self.clock()
        refusal = error.admin_message
        epoch = fence.current()
        moved = await self.db.run(
            lambda s: move_provider(
                s,
                job_id=job.id,
                owner=self.owner,
                epoch=epoch,
                now=now,
                move=Move(to=to, reason=reason),
                remaining=remaining,
                refusal=refusal,
            )
        )
        if moved is None:
            return None
        log.warning("job %s: %s; sending it to %s instead", job.id, refusal, to.value)
        await self.moves.show(moved)
        return moved, self.providers[to]

    async def _wait_to_resubmit(
        self, job: Job, error: ProviderError, deadline: float
    ) -> bool | None:
        """No job was created. Record that nothing is on the wire, show the wait, sleep.
        True: try again; False: past the deadline, give up; None: the job was taken away."""
        delay = submit_wait(error)
        now = self.clock()
        if now + delay > deadline:
            log.warning("job %s: still refused at the deadline: %s", job.id, error.admin_message)
            return False
        log.info("job %s: %s; sending again in %.1f s", job.id, error.admin_message, delay)
        epoch = fence.current()
        cleared = await self.db.run(
            lambda s: store.clear_submit_attempt(
                session=s,
                job_id=job.id,
                owner=self.owner,
                epoch=epoch,
                now=now,
                retry_at=now + delay,
            ),
            idempotent=True,
        )
        if not cleared:
            return None
        job.submit_attempted_at, job.submit_retry_at = None, now + delay
        await self.moves.show(job)
        await asyncio.sleep(delay)
        return True
