"""Recording a job's moves: each is a compare-and-set in the database, then shown on the job's
status message. Shared by the runner, its driver and the submit step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.core.db import Database
from bot.core.jobs import store
from bot.core.jobs.contracts import Presenter
from bot.core.jobs.models import Job, JobState
from bot.core.observability.metrics import Metrics

log = logging.getLogger(__name__)


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
    ) -> None:
        self.db = db
        self.presenter = presenter
        self.owner = owner
        self.clock = clock
        self.notify = notify  # a provider slot may have come free
        self.metrics = metrics

    async def set_fields(self, job_id: str, **fields: Any) -> None:
        now = self.clock()
        await self.db.run(
            lambda s: store.update_fields(session=s, job_id=job_id, now=now, **fields)
        )

    async def move(
        self, job_id: str, to: JobState, *, now: float, owned: bool = True, **fields: Any
    ) -> Job | None:
        """Compare-and-set the job's state. Driver moves also require this process's lease;
        a cancel (`owned=False`) may come from any process."""
        owner = self.owner if owned else None
        moved = await self.db.run(
            lambda s: store.transition(
                session=s, job_id=job_id, to=to, now=now, owner=owner, **fields
            )
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
            await self.set_fields(job.id, final_shown=True)
