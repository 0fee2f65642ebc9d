"""Drives jobs through the state machine. Knows nothing of Discord: it talks to a `Presenter`.

Every state is written before its side effect, so a process killed anywhere leaves a row that
says what may have happened:
- ACCEPTED but not set up (no status message, or an image job without its image): the
  process died before launching it -> FAILED and refunded, nothing was sent;
- SUBMITTING with no submit attempt recorded: nothing was sent -> submitted again;
- SUBMITTING with an attempt recorded and no provider job id: the POST may have created a paid
  job -> UNKNOWN, never resubmitted;
- SUBMITTED/RUNNING: poll again with the stored provider job id;
- DOWNLOADING: fetch the stored video URL again;
- DELIVERING: look for the posted result first, post only if it is not there;
- a final state whose status edit never happened: shown once (`bot.core.jobs.upkeep`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from bot.core.db import Database
from bot.core.errors import BudgetExhausted, QuotaExceeded, Refused, TooManyInFlight
from bot.core.jobs import fence, reasons, reserving, store
from bot.core.jobs.contracts import (
    CancelResult,
    Presenter,
    RunnerConfig,
)
from bot.core.jobs.driver import AfterDelivery, JobDriver
from bot.core.jobs.fitting import ResultFitter
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.moves import JobMoves
from bot.core.jobs.slots import claim_slots, waiting_lease
from bot.core.jobs.submitting import SubmitStep
from bot.core.jobs.upkeep import Upkeep
from bot.core.observability.metrics import Metrics
from bot.core.quotas import QuotaPolicy
from providers import (
    CancelOutcome,
    Downloader,
    Provider,
    ProviderError,
    ProviderName,
)
from providers.webhooks import Wakeups

log = logging.getLogger(__name__)

# At a stop, how long a submit already on the wire may take to be answered (and its provider
# job id stored) before it is cut off. Short enough for a container's stop timeout (10 s).
SUBMIT_GRACE_SECONDS = 8.0
# The recovery pass that follows another process's lease end runs this long after it (clocks
# of processes on one machine or NTP-synchronised hosts agree far better), and never sooner
# than this after the last pass.
EXPIRY_MARGIN_SECONDS = 0.1
MIN_RECOVERY_PAUSE_SECONDS = 0.2


async def store_new_job(
    db: Database,
    *,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    owner: str,
    lease_seconds: float,
    budget: int | None,
    hold: bool,
) -> Job:
    """`store.accept` as the bot runs it: on PostgreSQL one call in autocommit mode (no BEGIN
    or COMMIT round trips), sent on the driver's connection (`Database.run_on_driver`), a
    connection lost during it settled by whether the job's row is there; on SQLite one write
    transaction."""
    if db.is_sqlite:
        return await db.run(
            lambda s: store.accept(
                session=s,
                job=job,
                policy=policy,
                now=now,
                owner=owner,
                lease_seconds=lease_seconds,
                budget=budget,
                hold=hold,
            )
        )
    store.ready(job, policy=policy, now=now, owner=owner, lease_seconds=lease_seconds, hold=hold)

    def call(connection: Any) -> Job | Refused:
        refused = reserving.call_store_job(
            connection, job=job, policy=policy, now=now, budget=budget, hold=hold
        )
        return refused or job

    outcome = await db.run_on_driver(call, landed=lambda s: store.get(session=s, job_id=job.id))
    if isinstance(outcome, Refused):
        raise outcome
    return reserving.detached(outcome)


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
        wakeups: Wakeups | None = None,
        metrics: Metrics | None = None,
        fitter: ResultFitter | None = None,
        after_delivery: AfterDelivery | None = None,
    ) -> None:
        self.db = db
        self.providers = providers
        self.downloader = downloader
        self.config = config
        self.owner = owner or f"reelbot-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self.temp_dir = temp_dir
        self.accepting = False
        self._drivers: dict[str, asyncio.Task[bool]] = {}
        # Accepted here, not launched yet (the status message is being posted): their leases
        # are renewed too, so a slow post never lets recovery take a job that is being set up.
        self._setting_up: set[str] = set()
        self._slot_waiters: dict[str, asyncio.Future[None]] = {}
        self._service_tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self.wakeups = wakeups  # provider callbacks wake polling jobs (WEBHOOK_PUBLIC_URL)
        self.metrics = metrics
        self.leases_renewed_at = time.monotonic()  # for /readyz
        self.fitter = fitter  # results over the upload limit are re-encoded to fit
        self.after_delivery = after_delivery  # a chain's joined video (bot.core.extend)
        self.presenter = presenter  # builds the parts below

    @property
    def presenter(self) -> Presenter:
        return self._presenter

    @presenter.setter
    def presenter(self, presenter: Presenter) -> None:
        """Compose the parts that talk to the chat side. Set before any job is driven."""
        self._presenter = presenter
        self.moves = JobMoves(
            db=self.db,
            presenter=presenter,
            owner=self.owner,
            clock=self.clock,
            notify=self._notify,
            metrics=self.metrics,
            lease_seconds=self.config.lease_seconds,
        )
        submitter = self.submitter = SubmitStep(
            db=self.db,
            moves=self.moves,
            providers=self.providers,
            config=self.config,
            presenter=presenter,
            owner=self.owner,
            clock=self.clock,
        )
        self.driver = JobDriver(
            db=self.db,
            moves=self.moves,
            submitter=submitter,
            providers=self.providers,
            downloader=self.downloader,
            config=self.config,
            presenter=presenter,
            owner=self.owner,
            clock=self.clock,
            wait_for_slot=self._wait_for_slot,
            wakeups=self.wakeups,
            fitter=self.fitter,
            after_delivery=self.after_delivery,
        )
        self.upkeep = Upkeep(
            db=self.db,
            moves=self.moves,
            config=self.config,
            owner=self.owner,
            clock=self.clock,
            temp_dir=self.temp_dir,
            driving=lambda: self._drivers.keys(),
        )

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.accepting = True
        self.leases_renewed_at = time.monotonic()
        loop = asyncio.get_running_loop()
        for name, coro in (
            ("dispatcher", self._dispatch_loop()),
            ("leases", self._lease_loop()),
            ("recovery", self._recovery_loop()),
            ("upkeep", self._upkeep_loop()),
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
        await self.submitter.wait_sent(SUBMIT_GRACE_SECONDS)  # their leases are still ours
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
        with _counting_refusals(self.metrics):
            accepted = await self._accept(job, policy, budget, hold, now)
        log.info("job %s accepted (%s, user %s)", accepted.id, accepted.provider, accepted.user_id)
        if not hold:
            self._setting_up.add(accepted.id)
        return accepted

    async def _accept(
        self, job: Job, policy: QuotaPolicy | None, budget: int | None, hold: bool, now: float
    ) -> Job:
        return await store_new_job(
            self.db,
            job=job,
            policy=policy or self.config.quota,
            now=now,
            owner=self.owner,
            lease_seconds=self.config.lease_seconds,
            budget=budget,
            hold=hold,
        )

    def setup_over(self, job_id: str) -> None:
        """The caller of `accept` is done with the job: launched, abandoned, or (after an
        unexpected error) left for recovery once its lease lapses."""
        self._setting_up.discard(job_id)

    async def abandon(self, job: Job, reason: str) -> Job | None:
        """Fail a job this process accepted and never started (e.g. its status message could
        not be posted), `job` as `accept` returned it. The reservation is refunded. None if
        the job is no longer this process's under the claim it was accepted with: set-up
        outlived the lease (a pause, failed renewals) and another process took the job over,
        or the lease came back here under a newer claim whose driver runs it; failing it then
        would refund and end a job that is being run (fenced like every driver's write,
        `bot.core.jobs.fence`)."""
        self.setup_over(job.id)
        now = self.clock()
        return await self.db.run(
            lambda s: store.transition(
                session=s,
                job_id=job.id,
                to=JobState.FAILED,
                now=now,
                owner=self.owner,
                epoch=job.lease_epoch,
                error=reason,
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
                owner=self.owner,
                lease_seconds=self.config.lease_seconds,
            )
        )
        if moved is not None:
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
            **fence.claim(self.owner, until),
        )
        if moved is not None:
            self.launch(job_id)
        return moved

    async def discard(self, job_id: str, *, moderator_id: int) -> Job | None:
        return await self._decide(
            job_id,
            JobState.FAILED,
            moderator_id=moderator_id,
            error=reasons.stored(reasons.DISCARDED_BY_MODERATOR),
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

    def launch(self, job_id: str, *, resumed: bool = False) -> None:
        """Drive a job in a supervised task (one per job)."""
        self.setup_over(job_id)
        if job_id in self._drivers:
            return
        task = asyncio.get_running_loop().create_task(
            self.driver.drive(job_id, resumed=resumed), name=f"job-{job_id}"
        )
        self._drivers[job_id] = task
        task.add_done_callback(lambda t: self._driver_done(job_id, t))
        self._notify()

    def _driver_done(self, job_id: str, task: asyncio.Task[bool]) -> None:
        if self._drivers.get(job_id) is task:
            del self._drivers[job_id]
        waiter = self._slot_waiters.pop(job_id, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()
        if not task.cancelled() and task.exception() is not None:
            log.error("job %s: driver crashed", job_id, exc_info=task.exception())
        elif not task.cancelled() and task.result() and self.accepting:
            # Its lease went to another process and came back here while it was paused: a
            # fresh driver picks the job up where the other process left it.
            log.info("job %s: back with this process; driving it afresh", job_id)
            self.launch(job_id, resumed=True)
        self._notify()

    def _notify(self) -> None:
        self._wake.set()

    async def _wait_for_slot(self, job_id: str) -> None:
        """Wait until the dispatcher gives the job a provider slot."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters[job_id] = future
        self._notify()
        await future

    # --- moves, through the shared recorder -------------------------------------------------

    async def set_fields(self, job_id: str, **fields: Any) -> None:
        """The chat side's writes while setting a job up (its status or review message):
        made before any driver runs, so not fenced."""
        await self.moves.set_fields(job_id, fenced=False, **fields)

    async def _move(
        self, job_id: str, to: JobState, *, now: float, owned: bool = True, **fields: Any
    ) -> Job | None:
        return await self.moves.move(job_id, to, now=now, owned=owned, **fields)

    async def _show(self, job: Job, *, waiting_position: int | None = None) -> None:
        await self.moves.show(job, waiting_position=waiting_position)

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
            reasons.stored(reasons.CANCELLED_BY_REQUESTER)
            if actor_id == job.user_id
            else reasons.stored(reasons.CANCELLED_BY_MODERATOR)
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
            # Only while no POST is on the wire (waiting out a rate limit, say).
            moved = await self._move(
                job_id, JobState.CANCELLED, now=now, owned=False, error=note, actor_id=actor_id
            )
            if moved is None:
                return CancelResult.BUSY
            await self._finish(moved)
            return CancelResult.CANCELLED
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
            try:
                await self._dispatch_pass(waiting, last_positions)
            except Exception:  # e.g. "database is locked": the next pass tries again
                log.exception("dispatch pass failed; trying again shortly")
                await asyncio.sleep(1.0)
                self._notify()

    async def _dispatch_pass(self, waiting: list[str], last_positions: dict[str, int]) -> None:
        result = await self.db.run(
            partial(
                claim_slots,
                mine=set(waiting),
                cap=self.config.max_concurrent_jobs,
                owner=self.owner,
                now=self.clock(),
                lease_seconds=self.config.lease_seconds,
            )
        )
        claimed, positions = result.claimed, result.positions
        for job_id in result.lost:  # taken over while waiting (this process stalled)
            log.warning("job %s: taken over by another process while waiting", job_id)
            task = self._drivers.get(job_id)
            if task is not None:
                task.cancel()
        for job_id in result.ended:  # cancelled through another process while it waited
            log.info(
                "job %s: ended elsewhere while waiting for a slot; stopping its driver", job_id
            )
            task = self._drivers.get(job_id)
            if task is not None:
                task.cancel()
        for job_id in result.adopted:  # its process died while it waited for a slot
            log.info("job %s: taking over a waiting job of a process that stopped", job_id)
            if self.metrics is not None:
                self.metrics.lease_takeovers.inc()
            self.launch(job_id, resumed=True)
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
        """Renew this process's leases: a full term for jobs being set up or driven, a short
        one for jobs waiting for a slot (`slots.waiting_lease`), so that if this process dies
        its waiting jobs are adopted within seconds instead of holding the line."""
        waiting_term = waiting_lease(self.config.lease_seconds)
        while True:
            await asyncio.sleep(waiting_term / 3)
            try:
                now = self.clock()
                waiting = {j for j, f in self._slot_waiters.items() if not f.done()}
                driving = [j for j in self._drivers if j not in waiting]
                await self.db.run(
                    partial(
                        _renew,
                        owner=self.owner,
                        job_ids=[*driving, *self._setting_up],
                        until=now + self.config.lease_seconds,
                        waiting=sorted(waiting),
                        waiting_until=now + waiting_term,
                    )
                )
                self.leases_renewed_at = time.monotonic()
            except Exception:
                log.exception("renewing leases failed; trying again on the next pass")

    async def _recovery_loop(self) -> None:
        """Take over unfinished jobs whose process died. Runs at once, then every few seconds,
        and just after another process's lease runs out: a dead process's jobs are taken
        over when their lease ends, not up to a pass later."""
        interval = min(5.0, self.config.lease_seconds / 4)
        while True:
            pause = interval
            if self.accepting:
                try:
                    next_expiry = await self._recovery_pass()
                except Exception:
                    log.exception("recovery pass failed; trying again on the next pass")
                else:
                    pause = recovery_pause(interval, next_expiry=next_expiry, now=self.clock())
            await asyncio.sleep(pause)

    async def _recovery_pass(self) -> float | None:
        """Claim the orphans; returns when the next lease of another process runs out."""
        now = self.clock()
        claimed, next_expiry = await self.db.run(
            partial(
                _claim_orphans,
                owner=self.owner,
                now=now,
                until=now + self.config.lease_seconds,
            )
        )
        if claimed and self.metrics is not None:
            self.metrics.lease_takeovers.inc(len(claimed))
        for job_id in claimed:
            if job_id not in self._drivers:
                log.info("job %s: resuming after a restart", job_id)
                await self._remove_temp_files(job_id)
                self.launch(job_id, resumed=True)
        return next_expiry

    async def _upkeep_loop(self) -> None:
        """Tidy up after dead processes: at once, then every few seconds. A failed pass is
        logged and the next one runs as usual."""
        while True:
            if self.accepting:
                try:
                    await self.upkeep.sweep_temp_files()
                    await self.upkeep.show_unshown_finals()
                except Exception:
                    log.exception("upkeep pass failed; trying again on the next pass")
            await asyncio.sleep(min(5.0, self.config.lease_seconds / 4))

    async def _review_expiry_loop(self) -> None:
        """Pending reviews that nobody decided in time are rejected (nothing was charged)."""
        while True:
            try:
                await self.expire_reviews()
            except Exception:
                log.exception("expiring reviews failed; trying again on the next pass")
            await asyncio.sleep(self.config.review_check_seconds)

    async def expire_reviews(self) -> int:
        """One pass: reject every request that waited for review too long."""
        now = self.clock()
        expired = await self.db.run(
            partial(_expired_reviews, now=now, default_hours=self.config.review_expiry_hours)
        )
        for job_id in expired:
            await self.reject(
                job_id, moderator_id=None, reason=reasons.stored(reasons.REVIEW_EXPIRED)
            )
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


@contextlib.contextmanager
def _counting_refusals(metrics: Metrics | None) -> Iterator[None]:
    try:
        yield
    except QuotaExceeded:
        if metrics is not None:
            metrics.quota_refusals.labels("quota").inc()
        raise
    except TooManyInFlight:
        if metrics is not None:
            metrics.quota_refusals.labels("in_flight").inc()
        raise
    except BudgetExhausted:
        if metrics is not None:
            metrics.quota_refusals.labels("budget").inc()
        raise


def _expired_reviews(session: Any, *, now: float, default_hours: float) -> list[str]:
    return store.expired_reviews(session=session, now=now, default_hours=default_hours)


def _renew(
    session: Any,
    *,
    owner: str,
    job_ids: list[str],
    until: float,
    waiting: list[str],
    waiting_until: float,
) -> None:
    store.renew_leases(session=session, owner=owner, job_ids=job_ids, until=until)
    store.renew_leases(session=session, owner=owner, job_ids=waiting, until=waiting_until)


def recovery_pause(interval: float, *, next_expiry: float | None, now: float) -> float:
    """How long the recovery loop sleeps: its interval, or until just after the next lease of
    another process runs out if that is sooner (never less than a floor)."""
    if next_expiry is None:
        return interval
    until_expiry = next_expiry - now + EXPIRY_MARGIN_SECONDS
    return min(interval, max(MIN_RECOVERY_PAUSE_SECONDS, until_expiry))


def _claim_orphans(
    session: Any, *, owner: str, now: float, until: float
) -> tuple[list[str], float | None]:
    claimed = store.claim_orphans(session=session, owner=owner, now=now, until=until)
    return claimed, store.next_lease_expiry(session=session, owner=owner, now=now)
