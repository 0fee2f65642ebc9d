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

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.core import dialect
from bot.core.jobs import fence, store
from bot.core.jobs.models import FINAL_STATES, Job, JobState
from bot.core.jobs.submitting import missing_for_submit

# The key of the advisory lock every process's slot claim takes (any bigint that is ours).
SLOTS_LOCK_KEY = 0x5EE1_5107
# A job waiting for a slot is held this long without renewal (the lease loop renews it).
WAITING_LEASE_SECONDS = 15.0
BUSY_STATES = (JobState.SUBMITTING, JobState.SUBMITTED, JobState.RUNNING)


@dataclass(frozen=True, slots=True)
class SlotPass:
    claimed: list[Job]  # this process's jobs that got a slot (now SUBMITTING)
    positions: list[tuple[Job, int]]  # this process's other waiting jobs, 1-based
    adopted: list[str]  # waiting jobs of a dead process, now this process's to drive
    lost: list[str]  # this process's waiting jobs that another process took over
    ended: list[str]  # this process's waiting jobs that ended meanwhile (a cancel from elsewhere)


def waiting_lease(lease_seconds: float) -> float:
    """How long a job waiting for a slot is held without renewal: short, so that a dead
    process's waiting jobs stop holding the head of the line within seconds."""
    return min(WAITING_LEASE_SECONDS, lease_seconds)


def claim_slots(
    session: Session, *, mine: set[str], cap: int, owner: str, now: float, lease_seconds: float
) -> SlotPass:
    """One transaction: claim free slots for the oldest waiting jobs, report the others'
    positions in the global queue. `mine` are this process's jobs waiting for a slot.

    A waiting job whose lease lapsed (its process died) is adopted on the spot, keeping its
    place: the oldest job still gets the next slot, now through this process."""
    dialect.serialise(session=session, key=SLOTS_LOCK_KEY)
    busy = session.exec(
        select(func.count()).select_from(Job).where(col(Job.state).in_(BUSY_STATES))
    ).one()
    free = max(0, cap - int(busy))
    queue = session.exec(
        select(Job).where(Job.state == JobState.ACCEPTED).order_by(col(Job.created_at), col(Job.id))
    ).all()
    result = SlotPass(
        claimed=[], positions=[], adopted=[], lost=[], ended=_ended(session, mine, owner)
    )
    for index, job in enumerate(queue):
        if missing_for_submit(job) is not None:
            continue  # still being set up, or its process died half-way: never sent
        if job.id in mine and job.lease_owner != owner:
            result.lost.append(job.id)
            continue
        if free > 0 and job.id in mine:
            moved = store.transition(
                session=session,
                job_id=job.id,
                to=JobState.SUBMITTING,
                now=now,
                owner=owner,
                lease_expires_at=now + lease_seconds,  # no longer waiting: a full lease
            )
            if moved is not None:
                result.claimed.append(moved)
                free -= 1
                continue
        if job.id not in mine and job.lease_owner != owner:
            if _adopt(session, job=job, owner=owner, now=now, until=now + lease_seconds):
                result.adopted.append(job.id)
            # FIFO: an older job of another process goes first; it will claim it (an adopted
            # one is claimed by this process as soon as its driver waits). One of ours that
            # is not waiting yet (its status message is still being posted, which can take
            # seconds in a busy channel) must not keep the slots idle meanwhile.
            free = 0
        if job.id in mine:
            result.positions.append((job, index + 1 - len(result.claimed)))
    return result


def _ended(session: Session, mine: set[str], owner: str) -> list[str]:
    """Of this process's waiting jobs, those another process finished meanwhile (a member or
    moderator cancelled it through a process that is not driving it): their drivers stop here,
    and their leases are released, so nothing goes on renewing them."""
    if not mine:
        return []
    ended = list(
        session.exec(
            select(Job.id).where(col(Job.id).in_(mine), col(Job.state).in_(FINAL_STATES))
        ).all()
    )
    if ended:
        session.execute(
            update(Job)
            .where(col(Job.id).in_(ended), col(Job.lease_owner) == owner)
            .values(lease_expires_at=0.0)
        )
    return ended


def _adopt(session: Session, *, job: Job, owner: str, now: float, until: float) -> bool:
    """Take a dead process's waiting job (its lease lapsed), unless someone else just did."""
    if job.lease_expires_at is not None and job.lease_expires_at >= now:
        return False
    taken: Any = session.execute(
        update(Job)
        .where(
            col(Job.id) == job.id,
            col(Job.state) == JobState.ACCEPTED,
            col(Job.lease_owner) == job.lease_owner,
            col(Job.lease_expires_at).is_(None) | (col(Job.lease_expires_at) < now),
        )
        .values(**fence.claim(owner, until))
    )
    return bool(taken.rowcount == 1)
