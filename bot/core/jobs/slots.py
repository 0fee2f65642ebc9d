"""Provider slots: one `MAX_CONCURRENT_JOBS` for every process together, handed out oldest
waiting job first, whichever process holds it.

Counting the busy jobs and claiming the free slots must be one step: under PostgreSQL's READ
COMMITTED each statement sees what was committed before it began, so a process that counted 1
busy job of 2, then read the queue just after another process committed its claim, would claim
a third slot. Every claim therefore runs under one lock for all processes (`dialect.serialise`),
and only the claim makes a job busy (ACCEPTED -> SUBMITTING), so a count taken under the lock
can only be too high (a job finishing meanwhile), never too low.
"""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from bot.core import dialect
from bot.core.jobs import store
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.submitting import missing_for_submit

# The key of the advisory lock every process's slot claim takes (any bigint that is ours).
SLOTS_LOCK_KEY = 0x5EE1_5107
BUSY_STATES = (JobState.SUBMITTING, JobState.SUBMITTED, JobState.RUNNING)


def claim_slots(
    session: Session, *, mine: set[str], cap: int, owner: str, now: float
) -> tuple[list[Job], list[tuple[Job, int]]]:
    """One transaction: claim free slots for the oldest waiting jobs, report the others'
    positions in the global queue. `mine` are this process's jobs waiting for a slot."""
    dialect.serialise(session=session, key=SLOTS_LOCK_KEY)
    busy = session.exec(
        select(func.count()).select_from(Job).where(col(Job.state).in_(BUSY_STATES))
    ).one()
    free = max(0, cap - int(busy))
    queue = session.exec(
        select(Job).where(Job.state == JobState.ACCEPTED).order_by(col(Job.created_at), col(Job.id))
    ).all()
    claimed: list[Job] = []
    positions: list[tuple[Job, int]] = []
    for index, job in enumerate(queue):
        if missing_for_submit(job) is not None:
            continue  # still being set up, or its process died half-way: never sent
        if free > 0 and job.id in mine:
            moved = store.transition(
                session=session, job_id=job.id, to=JobState.SUBMITTING, now=now, owner=owner
            )
            if moved is not None:
                claimed.append(moved)
                free -= 1
                continue
        if job.id not in mine and job.lease_owner != owner:
            # FIFO: an older job of another process goes first; it will claim it. One of ours
            # that is not waiting yet (its status message is still being posted, which can
            # take seconds in a busy channel) must not keep the slots idle meanwhile.
            free = 0
        if job.id in mine:
            positions.append((job, index + 1 - len(claimed)))
    return claimed, positions
