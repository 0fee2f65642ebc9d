"""Data functions for jobs and quotas. Each takes a session and keyword-only arguments and runs
inside the caller's transaction; every check-and-spend happens under a lock (SQLite's write lock,
or the member row's `FOR UPDATE` on PostgreSQL), never as read-then-write across transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.jobs.models import (
    ACTIVE_STATES,
    Job,
    JobState,
    LedgerEntry,
    LedgerKind,
    Member,
    predecessors,
)


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    limit: int  # units per window
    window_seconds: float
    max_in_flight: int  # a member's unfinished jobs
    cost_5s: int = 1
    cost_10s: int = 2

    def cost(self, duration: int) -> int:
        return self.cost_10s if duration >= 10 else self.cost_5s


@dataclass(frozen=True, slots=True)
class Usage:
    used: int
    limit: int
    in_flight: int
    max_in_flight: int
    frees_at: float | None  # when the oldest counted unit leaves the window

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class QuotaExceeded(Exception):
    def __init__(self, usage: Usage, cost: int, available_at: float | None) -> None:
        self.usage = usage
        self.cost = cost
        self.available_at = available_at
        super().__init__(f"quota exceeded: {usage.used}/{usage.limit}, needs {cost}")


class TooManyInFlight(Exception):
    def __init__(self, usage: Usage) -> None:
        self.usage = usage
        super().__init__(f"{usage.in_flight} jobs in flight, cap {usage.max_in_flight}")


def _lock_member(session: Session, *, guild_id: int | None, user_id: int) -> None:
    """Serialize one member's check-and-spend. On SQLite the IMMEDIATE transaction already holds
    the write lock; on PostgreSQL the member row is locked until commit."""
    gid = guild_id or 0
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        stmt: Any = sqlite_insert(Member).values(guild_id=gid, user_id=user_id)
        session.execute(stmt.on_conflict_do_nothing())
        return
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    session.execute(
        pg_insert(Member).values(guild_id=gid, user_id=user_id).on_conflict_do_nothing()
    )
    session.exec(
        select(Member).where(Member.guild_id == gid, Member.user_id == user_id).with_for_update()
    ).one()


def _ledger_rows(
    session: Session, *, guild_id: int | None, user_id: int, since: float
) -> Sequence[tuple[float, int]]:
    rows = session.exec(
        select(LedgerEntry.counted_at, func.sum(LedgerEntry.amount))
        .where(
            LedgerEntry.guild_id == guild_id,
            LedgerEntry.user_id == user_id,
            LedgerEntry.counted_at > since,
        )
        .group_by(col(LedgerEntry.counted_at))
        .order_by(col(LedgerEntry.counted_at))
    ).all()
    return [(float(at), int(total or 0)) for at, total in rows]


def usage(
    *, session: Session, guild_id: int | None, user_id: int, policy: QuotaPolicy, now: float
) -> Usage:
    rows = _ledger_rows(
        session, guild_id=guild_id, user_id=user_id, since=now - policy.window_seconds
    )
    used = max(0, sum(amount for _, amount in rows))
    frees_at = next((at + policy.window_seconds for at, amount in rows if amount > 0), None)
    in_flight = session.exec(
        select(func.count())
        .select_from(Job)
        .where(
            Job.guild_id == guild_id,
            Job.user_id == user_id,
            col(Job.state).in_(ACTIVE_STATES),
        )
    ).one()
    return Usage(
        used=used,
        limit=policy.limit,
        in_flight=int(in_flight),
        max_in_flight=policy.max_in_flight,
        frees_at=frees_at if used > 0 else None,
    )


def _available_at(
    rows: Sequence[tuple[float, int]], *, need: int, limit: int, window: float
) -> float | None:
    """The earliest time at which `need` more units fit, as counted amounts leave the window."""
    used = max(0, sum(amount for _, amount in rows))
    if need > limit:
        return None
    for at, amount in rows:
        if used + need <= limit:
            break
        used -= amount
        if used + need <= limit:
            return at + window
    return None


def accept(
    *, session: Session, job: Job, policy: QuotaPolicy, now: float, owner: str, lease_seconds: float
) -> Job:
    """Reserve the job's cost and store it as ACCEPTED, owned by `owner`. Atomic."""
    _lock_member(session, guild_id=job.guild_id, user_id=job.user_id)
    current = usage(
        session=session, guild_id=job.guild_id, user_id=job.user_id, policy=policy, now=now
    )
    if current.in_flight >= policy.max_in_flight:
        raise TooManyInFlight(current)
    if current.used + job.cost > policy.limit:
        rows = _ledger_rows(
            session,
            guild_id=job.guild_id,
            user_id=job.user_id,
            since=now - policy.window_seconds,
        )
        raise QuotaExceeded(
            current,
            job.cost,
            _available_at(rows, need=job.cost, limit=policy.limit, window=policy.window_seconds),
        )
    job.state = JobState.ACCEPTED
    job.created_at = job.updated_at = now
    job.lease_owner = owner
    job.lease_expires_at = now + lease_seconds
    session.add(job)
    session.flush()
    session.add(
        LedgerEntry(
            guild_id=job.guild_id,
            user_id=job.user_id,
            job_id=job.id,
            kind=LedgerKind.RESERVE,
            amount=job.cost,
            counted_at=now,
            created_at=now,
        )
    )
    return job


def transition(
    *,
    session: Session,
    job_id: str,
    to: JobState,
    now: float,
    owner: str | None = None,
    **fields: Any,
) -> Job | None:
    """Move a job to `to` if the table allows it from its current state (compare-and-set).

    Returns the updated job, or None when the job was not in an allowed state (someone else
    moved it first). FAILED and CANCELLED refund the reservation; DELIVERED commits it, each
    exactly once because the move itself happens once.
    """
    conditions = [col(Job.id) == job_id, col(Job.state).in_(predecessors(to))]
    if owner is not None:
        conditions.append(col(Job.lease_owner) == owner)
    values: dict[str, Any] = {"state": to, "updated_at": now, **fields}
    if to.is_final:
        values.setdefault("finished_at", now)
    result: Any = session.execute(update(Job).where(*conditions).values(**values))
    if result.rowcount != 1:
        return None
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None  # noqa: S101 - just updated
    if to in (JobState.FAILED, JobState.CANCELLED):
        refund(session=session, job=job, now=now, note=to.value)
    elif to is JobState.DELIVERED:
        session.add(
            LedgerEntry(
                guild_id=job.guild_id,
                user_id=job.user_id,
                job_id=job.id,
                kind=LedgerKind.COMMIT,
                amount=0,
                counted_at=job.created_at,
                created_at=now,
            )
        )
    return job


def refund(*, session: Session, job: Job, now: float, note: str) -> bool:
    """Give a job's reservation back, once."""
    result: Any = session.execute(
        update(Job).where(col(Job.id) == job.id, col(Job.refunded).is_(False)).values(refunded=True)
    )
    if result.rowcount != 1:
        return False
    reserved = session.exec(
        select(LedgerEntry).where(
            LedgerEntry.job_id == job.id, LedgerEntry.kind == LedgerKind.RESERVE
        )
    ).first()
    if reserved is None:
        return False
    session.add(
        LedgerEntry(
            guild_id=job.guild_id,
            user_id=job.user_id,
            job_id=job.id,
            kind=LedgerKind.REFUND,
            amount=-reserved.amount,
            counted_at=reserved.counted_at,
            created_at=now,
            note=note,
        )
    )
    job.refunded = True
    return True


def get(*, session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id, populate_existing=True)


def update_fields(*, session: Session, job_id: str, now: float, **fields: Any) -> None:
    session.execute(update(Job).where(col(Job.id) == job_id).values(updated_at=now, **fields))


def waiting_position(*, session: Session, job: Job) -> int:
    """1-based position in our own FIFO of accepted jobs."""
    ahead = session.exec(
        select(func.count())
        .select_from(Job)
        .where(Job.state == JobState.ACCEPTED, col(Job.created_at) < job.created_at)
    ).one()
    return int(ahead) + 1


def renew_leases(*, session: Session, owner: str, job_ids: Iterable[str], until: float) -> None:
    ids = list(job_ids)
    if ids:
        session.execute(
            update(Job)
            .where(col(Job.id).in_(ids), col(Job.lease_owner) == owner)
            .values(lease_expires_at=until)
        )


def claim_orphans(*, session: Session, owner: str, now: float, until: float) -> list[str]:
    """Take over unfinished jobs whose lease expired (their process died) or was released."""
    candidates = session.exec(
        select(Job.id).where(
            col(Job.state).in_(ACTIVE_STATES),
            (col(Job.lease_expires_at).is_(None)) | (col(Job.lease_expires_at) < now),
        )
    ).all()
    claimed = []
    for job_id in candidates:
        result: Any = session.execute(
            update(Job)
            .where(
                col(Job.id) == job_id,
                (col(Job.lease_expires_at).is_(None)) | (col(Job.lease_expires_at) < now),
            )
            .values(lease_owner=owner, lease_expires_at=until)
        )
        if result.rowcount == 1:
            claimed.append(job_id)
    return claimed


def release_leases(*, session: Session, owner: str) -> None:
    """On a clean shutdown: let the next process take the jobs over at once."""
    session.execute(
        update(Job)
        .where(col(Job.lease_owner) == owner, col(Job.state).in_(ACTIVE_STATES))
        .values(lease_expires_at=0.0)
    )


def recent_jobs(
    *, session: Session, guild_id: int | None, user_id: int, limit: int = 10
) -> Sequence[Job]:
    return session.exec(
        select(Job)
        .where(Job.guild_id == guild_id, Job.user_id == user_id)
        .order_by(col(Job.created_at).desc())
        .limit(limit)
    ).all()


def ledger(
    *, session: Session, guild_id: int | None, user_id: int, limit: int = 50
) -> Sequence[LedgerEntry]:
    return session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.guild_id == guild_id, LedgerEntry.user_id == user_id)
        .order_by(col(LedgerEntry.created_at).desc(), col(LedgerEntry.id).desc())
        .limit(limit)
    ).all()
