"""Data functions for jobs and quotas. Each takes a session and keyword-only arguments and runs
inside the caller's transaction; every check-and-spend happens under a lock (SQLite's write lock,
or the member row's `FOR UPDATE` on PostgreSQL), never as read-then-write across transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.core.guild.models import AuditAction, AuditEntry
from bot.core.jobs.models import (
    ACTIVE_STATES,
    FINAL_STATES,
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
    daily: bool = False  # the window is the UTC day instead of the last `window_seconds`

    def cost(self, duration: int) -> int:
        return self.cost_10s if duration >= 10 else self.cost_5s

    def window_start(self, now: float) -> float:
        return utc_midnight(now) if self.daily else now - self.window_seconds

    def counted_until(self, counted_at: float) -> float:
        """When an amount counted at `counted_at` leaves the window."""
        if self.daily:
            return utc_midnight(counted_at) + DAY
        return counted_at + self.window_seconds


DAY = 86_400.0


def utc_midnight(now: float) -> float:
    return now - (now % DAY)


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


class BudgetExhausted(Exception):
    """The server's daily budget would be exceeded."""

    def __init__(self, used: int, budget: int, resets_at: float) -> None:
        self.used = used
        self.budget = budget
        self.resets_at = resets_at
        super().__init__(f"server budget exhausted: {used}/{budget}")


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
    # The server budget is shared: serialize a server's spends on its own row too.
    session.execute(pg_insert(Member).values(guild_id=gid, user_id=0).on_conflict_do_nothing())
    session.exec(
        select(Member).where(Member.guild_id == gid, Member.user_id == 0).with_for_update()
    ).one()


def ledger_by_time(
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
    # Summed by the database: one row back however many entries the window holds (a member's
    # window can hold thousands, and this runs under the member's lock).
    per_time = (
        select(
            col(LedgerEntry.counted_at).label("at"),
            func.sum(LedgerEntry.amount).label("amount"),
        )
        .where(
            LedgerEntry.guild_id == guild_id,
            LedgerEntry.user_id == user_id,
            LedgerEntry.counted_at > policy.window_start(now),
        )
        .group_by(col(LedgerEntry.counted_at))
        .subquery()
    )
    total, first = session.execute(
        select(
            func.coalesce(func.sum(per_time.c.amount), 0),
            func.min(case((per_time.c.amount > 0, per_time.c.at))),
        )
    ).one()
    used = max(0, int(total))
    frees_at = None if first is None else policy.counted_until(float(first))
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
    rows: Sequence[tuple[float, int]], *, need: int, policy: QuotaPolicy
) -> float | None:
    """The earliest time at which `need` more units fit, as counted amounts leave the window."""
    used = max(0, sum(amount for _, amount in rows))
    if need > policy.limit:
        return None
    for at, amount in rows:
        if used + need <= policy.limit:
            break
        used -= amount
        if used + need <= policy.limit:
            return policy.counted_until(at)
    return None


def guild_spent_today(*, session: Session, guild_id: int | None, now: float) -> int:
    total = session.exec(
        select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.guild_id == guild_id,
            LedgerEntry.counted_at >= utc_midnight(now),
            col(LedgerEntry.kind).in_((LedgerKind.RESERVE, LedgerKind.REFUND)),
        )
    ).one()
    return int(total or 0)


def _check_spend(
    session: Session,
    *,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    budget: int | None,
    in_flight: bool,
) -> None:
    """Raise if the member (or the server) cannot spend `job.cost` now. Call under the lock."""
    current = usage(
        session=session, guild_id=job.guild_id, user_id=job.user_id, policy=policy, now=now
    )
    if in_flight and current.in_flight >= policy.max_in_flight:
        raise TooManyInFlight(current)
    if current.used + job.cost > policy.limit:
        rows = ledger_by_time(
            session, guild_id=job.guild_id, user_id=job.user_id, since=policy.window_start(now)
        )
        raise QuotaExceeded(current, job.cost, _available_at(rows, need=job.cost, policy=policy))
    if budget is not None:
        spent = guild_spent_today(session=session, guild_id=job.guild_id, now=now)
        if spent + job.cost > budget:
            raise BudgetExhausted(spent, budget, utc_midnight(now) + DAY)


def _reserve(session: Session, *, job: Job, now: float) -> None:
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


def accept(
    *,
    session: Session,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    owner: str,
    lease_seconds: float,
    budget: int | None = None,
    hold: bool = False,
) -> Job:
    """Store a new job, atomically with its checks. Normally it is ACCEPTED with its cost
    reserved, owned by `owner`; with `hold` it is PENDING_REVIEW and nothing is reserved yet
    (the checks still run, so nobody waits for a review of a job they could not pay for)."""
    _lock_member(session, guild_id=job.guild_id, user_id=job.user_id)
    _check_spend(session, job=job, policy=policy, now=now, budget=budget, in_flight=True)
    job.state = JobState.PENDING_REVIEW if hold else JobState.ACCEPTED
    job.created_at = job.updated_at = now
    job.quota_limit = policy.limit
    job.quota_daily = policy.daily
    job.lease_owner = owner
    job.lease_expires_at = now + lease_seconds
    session.add(job)
    session.flush()
    if not hold:
        _reserve(session, job=job, now=now)
    audit_job(session, job=job, action=AuditAction.HELD if hold else AuditAction.ACCEPTED, now=now)
    return job


def approve(
    *,
    session: Session,
    job_id: str,
    policy: QuotaPolicy,
    now: float,
    moderator_id: int,
    budget: int | None = None,
) -> Job | None:
    """PENDING_REVIEW -> ACCEPTED, reserving the cost then. None if it was no longer pending."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.state is not JobState.PENDING_REVIEW:
        return None
    _lock_member(session, guild_id=job.guild_id, user_id=job.user_id)
    _check_spend(session, job=job, policy=policy, now=now, budget=budget, in_flight=False)
    moved = transition(
        session=session,
        job_id=job_id,
        to=JobState.ACCEPTED,
        now=now,
        actor_id=moderator_id,
        moderator_id=moderator_id,
        created_at=now,  # its place in the queue starts now
    )
    if moved is not None:
        _reserve(session, job=moved, now=now)
    return moved


def audit_job(
    session: Session,
    *,
    job: Job,
    action: AuditAction,
    now: float,
    moderator_id: int | None = None,
    reason: str | None = None,
) -> None:
    options = (
        f"{job.mode} · {job.duration} s · {job.resolution} · "
        f"{job.aspect_ratio or 'from image'} · seed {job.seed}"
    )
    session.add(
        AuditEntry(
            guild_id=job.guild_id,
            at=now,
            action=action,
            user_id=job.user_id,
            moderator_id=moderator_id,
            job_id=job.id,
            prompt=job.prompt,
            options=options,
            provider=job.provider,
            cost=job.cost,
            reason=reason,
        )
    )


def transition(
    *,
    session: Session,
    job_id: str,
    to: JobState,
    now: float,
    owner: str | None = None,
    actor_id: int | None = None,
    **fields: Any,
) -> Job | None:
    """Move a job to `to` if the table allows it from its current state (compare-and-set).

    Returns the updated job, or None when the job was not in an allowed state (someone else
    moved it first). FAILED and CANCELLED refund the reservation; DELIVERED commits it, each
    exactly once because the move itself happens once.
    """
    conditions = [col(Job.id) == job_id, col(Job.state).in_(predecessors(to))]
    if to is JobState.CANCELLED:
        # A job being sent may be cancelled only while no POST is on the wire.
        conditions.append(
            (col(Job.state) != JobState.SUBMITTING) | col(Job.submit_attempted_at).is_(None)
        )
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
    action = _AUDITED.get(to)
    if action is not None:
        audit_job(session, job=job, action=action, now=now, moderator_id=actor_id, reason=job.error)
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


_AUDITED = {
    JobState.ACCEPTED: AuditAction.APPROVED,  # the only move into ACCEPTED is an approval
    JobState.REJECTED: AuditAction.REJECTED,
    JobState.CANCELLED: AuditAction.CANCELLED,
    JobState.DELIVERED: AuditAction.DELIVERED,
    JobState.FAILED: AuditAction.FAILED,
    JobState.UNKNOWN: AuditAction.UNKNOWN,
}


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
            # Jobs waiting for a moderator belong to no process until someone acts.
            col(Job.state).in_(ACTIVE_STATES - {JobState.PENDING_REVIEW, JobState.HELD}),
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


def mark_submit_attempt(*, session: Session, job_id: str, owner: str, now: float) -> bool:
    """Record, before the paid POST, that it is about to be sent. False if the job is no
    longer this process's to send (cancelled, or taken over)."""
    return _set_submitting(
        session, job_id=job_id, owner=owner, now=now, attempted_at=now, retry_at=None
    )


def clear_submit_attempt(
    *, session: Session, job_id: str, owner: str, now: float, retry_at: float
) -> bool:
    """The provider said no job was created (429, or never reached): nothing is on the wire
    until the next try at `retry_at`."""
    return _set_submitting(
        session, job_id=job_id, owner=owner, now=now, attempted_at=None, retry_at=retry_at
    )


def _set_submitting(
    session: Session,
    *,
    job_id: str,
    owner: str,
    now: float,
    attempted_at: float | None,
    retry_at: float | None,
) -> bool:
    """Set a SUBMITTING job's attempt fields, if this process still holds it."""
    result: Any = session.execute(
        update(Job)
        .where(
            col(Job.id) == job_id,
            col(Job.state) == JobState.SUBMITTING,
            col(Job.lease_owner) == owner,
        )
        .values(submit_attempted_at=attempted_at, submit_retry_at=retry_at, updated_at=now)
    )
    return bool(result.rowcount == 1)


def leased_elsewhere(
    *, session: Session, job_ids: Iterable[str], owner: str, now: float
) -> set[str]:
    """Of `job_ids`, the unfinished jobs whose lease another live process holds."""
    ids = list(job_ids)
    if not ids:
        return set()
    rows = session.exec(
        select(Job.id).where(
            col(Job.id).in_(ids),
            col(Job.state).in_(ACTIVE_STATES),
            col(Job.lease_owner) != owner,
            col(Job.lease_expires_at) >= now,
        )
    ).all()
    return set(rows)


def claim_unshown_finals(
    *,
    session: Session,
    owner: str,
    now: float,
    until: float,
    since: float,
    skip: Iterable[str] = (),
    limit: int = 50,
) -> list[Job]:
    """Finished jobs (since `since`) whose status message may still show an earlier state and
    that no live process is busy with: leased to `owner` so one process shows each."""
    candidates = session.exec(
        select(Job.id)
        .where(
            col(Job.state).in_(FINAL_STATES),
            col(Job.final_shown).is_(False),
            col(Job.finished_at) >= since,
            (col(Job.lease_expires_at).is_(None)) | (col(Job.lease_expires_at) < now),
            col(Job.id).not_in(list(skip)),
        )
        .order_by(col(Job.finished_at))
        .limit(limit)
    ).all()
    claimed: list[Job] = []
    for job_id in candidates:
        result: Any = session.execute(
            update(Job)
            .where(
                col(Job.id) == job_id,
                col(Job.final_shown).is_(False),
                (col(Job.lease_expires_at).is_(None)) | (col(Job.lease_expires_at) < now),
            )
            .values(lease_owner=owner, lease_expires_at=until)
        )
        if result.rowcount == 1:
            job = session.get(Job, job_id, populate_existing=True)
            if job is not None:
                claimed.append(job)
    return claimed


def release_leases(*, session: Session, owner: str) -> None:
    """On a clean shutdown: let the next process take the jobs over at once."""
    session.execute(
        update(Job)
        .where(col(Job.lease_owner) == owner, col(Job.state).in_(ACTIVE_STATES))
        .values(lease_expires_at=0.0)
    )


def expired_reviews(*, session: Session, now: float, default_hours: float) -> list[str]:
    """Jobs that waited for approval longer than their server's review expiry."""
    from bot.core.guild.models import GuildConfig

    rows = session.exec(
        select(Job.id, Job.created_at, GuildConfig.review_expiry_hours)
        .join(GuildConfig, col(GuildConfig.guild_id) == col(Job.guild_id), isouter=True)
        .where(Job.state == JobState.PENDING_REVIEW)
    ).all()
    return [
        job_id
        for job_id, created_at, hours in rows
        if now - created_at > (hours if hours is not None else default_hours) * 3600
    ]


def jobs_in_state(*, session: Session, guild_id: int, state: JobState) -> Sequence[Job]:
    return session.exec(
        select(Job)
        .where(Job.guild_id == guild_id, Job.state == state)
        .order_by(col(Job.created_at).desc())
    ).all()


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
