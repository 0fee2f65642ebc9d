"""Recording a job's moves: each is a compare-and-set in the database, then shown on the job's
status message. Shared by the runner, its driver and the submit step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.core.db import Database
from bot.core.jobs import fence, store
from bot.core.jobs.contracts import Presenter
from bot.core.jobs.models import Job, JobState
from bot.core.observability.metrics import Metrics

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another process took the job over: this one must stop driving it."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id}: its lease is held by another process now")
        self.job_id = job_id


class JobMoves:
    def __init__(
        self,
        *,
        db: Database,
        presenter: Presenter,
        owner: str,
        clock: Callable[[], float],
        notify: Callable[[], None],
        metrics: Metrics | None = None,
        lease_seconds: float = 60.0,
    ) -> None:
        self.db = db
        self.presenter = presenter
        self.owner = owner
        self.clock = clock
        self.notify = notify  # a provider slot may have come free
        self.metrics = metrics
        self.lease_seconds = lease_seconds

    async def set_fields(self, job_id: str, *, fenced: bool = True, **fields: Any) -> None:
        """Write a job's fields. Fenced (the default): only while this process holds the
        job's lease under the calling driver's claim (`fence`), else LeaseLost and nothing is
        written."""
        now = self.clock()
        owner = self.owner if fenced else None
        epoch = fence.current()
        written = await self.db.run(
            lambda s: store.update_fields(
                session=s, job_id=job_id, now=now, owner=owner, epoch=epoch, **fields
            ),
            idempotent=True,
        )
        if fenced and not written:
            raise LeaseLost(job_id)

    async def still_holds(self, job_id: str) -> bool:
        """Right before an action that cannot be fenced (posting a result): True if this
        process still holds the job, its lease then renewed for a full term."""
        until = self.clock() + self.lease_seconds
        epoch = fence.current()
        return await self.db.run(
            lambda s: store.hold_lease(
                session=s, job_id=job_id, owner=self.owner, until=until, epoch=epoch
            ),
            idempotent=True,
        )

    async def move(
        self, job_id: str, to: JobState, *, now: float, owned: bool = True, **fields: Any
    ) -> Job | None:
        """Compare-and-set the job's state. Driver moves also require this process's lease,
        under the driver's claim of it (`fence`); a cancel (`owned=False`) may come from any
        process."""
        owner = self.owner if owned else None
        epoch = fence.current() if owned else None
        moved = await self.db.run(
            lambda s: store.transition(
                session=s, job_id=job_id, to=to, now=now, owner=owner, epoch=epoch, **fields
            ),
            # A COMMIT cut off by a lost connection: the move took effect if the job now shows
            # it (its state, and the time it was made); else it is made again.
            landed=lambda s: store.moved_at(
                session=s, job_id=job_id, to=to, now=now, owner=owner, epoch=epoch
            ),
        )
        if moved is not None:
            self.notify()  # a provider slot may have come free: let the dispatcher look now
            if self.metrics is not None:
                self.metrics.job_moved(moved, now=now)
        return moved

    async def fail(self, job: Job, reason: str) -> Job | None:
        return await self.settle(job.id, JobState.FAILED, reason)

    async def settle(self, job_id: str, to: JobState, reason: str) -> Job | None:
        moved = await self.move(job_id, to, now=self.clock(), error=reason)
        if moved is not None:
            await self.show(moved)
        return moved

    async def show(self, job: Job, *, waiting_position: int | None = None) -> None:
        try:
            shown = await self.presenter.show_status(job, waiting_position=waiting_position)
        except Exception:  # a status edit must never stop a job
            log.exception("job %s: could not update the status message", job.id)
            return
        if shown and job.state.is_final:
            # Any process may show a job's end (a cancel from elsewhere): not fenced.
            await self.set_fields(job.id, fenced=False, final_shown=True)
