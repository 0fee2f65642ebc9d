"""Quotas: the policy, a member's usage, and the ledger that counts it. A job's cost is
reserved when it is accepted, committed when it is delivered and refunded when it fails or is
cancelled; admins grant extra units or reset a member's window. Each function takes a session
and runs inside the caller's transaction; every check-and-spend happens under a lock (SQLite's
write lock, or the member row's `FOR UPDATE` on PostgreSQL), never as read-then-write across
transactions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from bot.core import quota_figures
from bot.core.audit import AuditAction, audit
from bot.core.errors import Refused
from bot.core.jobs.models import Job, LedgerEntry, LedgerKind
from bot.core.quota_policy import DAY as DAY
from bot.core.quota_policy import QuotaPolicy as QuotaPolicy
from bot.core.quota_policy import Usage as Usage
from bot.core.quota_policy import utc_midnight as utc_midnight


def lock_member(
    *, session: Session, guild_id: int | None, user_id: int, budget: bool = True
) -> None:
    """Serialize one member's check-and-spend (and, with `budget`, their server's: the
    server's daily budget is shared by its members). On SQLite the IMMEDIATE transaction
    already holds the write lock; on PostgreSQL the member's row (and the server's, user 0) is
    locked until commit, in one statement: `ON CONFLICT DO UPDATE` inserts a missing row, or
    locks the existing one even when its `WHERE` lets nothing be updated (PostgreSQL docs,
    sql-insert: "all rows will be locked when the ON CONFLICT DO UPDATE action is taken"), so
    no row version is written. The lock is the one `SELECT ... FOR UPDATE` takes on the same
    rows, so processes of an older release wait for it too."""
    if session.get_bind().dialect.name == "sqlite":
        return
    values = {"guild_id": guild_id or 0, "user_id": user_id, "now": time.time()}
    session.connection().execute(_LOCK_BOTH if budget else _LOCK_MEMBER, values)


_LOCK = """
    INSERT INTO member (guild_id, user_id, created_at) VALUES {rows}
    ON CONFLICT (guild_id, user_id) DO UPDATE SET created_at = member.created_at WHERE false
"""
_LOCK_MEMBER = text(_LOCK.format(rows="(:guild_id, :user_id, :now)"))
# The server's row after the member's: every transaction takes the two in the same order.
_LOCK_BOTH = text(_LOCK.format(rows="(:guild_id, :user_id, :now), (:guild_id, 0, :now)"))


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
    return quota_figures.read(
        session=session, guild_id=guild_id, user_id=user_id, policy=policy, now=now
    ).usage(policy)


def guild_spent_today(*, session: Session, guild_id: int | None, now: float) -> int:
    total = session.exec(
        select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.guild_id == guild_id,
            LedgerEntry.counted_at >= utc_midnight(now),
            col(LedgerEntry.kind).in_((LedgerKind.RESERVE, LedgerKind.REFUND)),
        )
    ).one()
    return int(total or 0)


def check_spend(
    *,
    session: Session,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    budget: int | None,
    in_flight: bool,
) -> None:
    """Raise if the member (or the server) cannot spend `job.cost` now. Call under the lock."""
    refused = refusal(
        session=session, job=job, policy=policy, now=now, budget=budget, in_flight=in_flight
    )
    if refused is not None:
        raise refused


def refusal(
    *,
    session: Session,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    budget: int | None,
    in_flight: bool,
) -> Refused | None:
    """Why the member (or the server) cannot spend `job.cost` now, from the figures read now;
    None if they can."""
    figures = quota_figures.read(
        session=session,
        guild_id=job.guild_id,
        user_id=job.user_id,
        policy=policy,
        now=now,
        need=job.cost,
        budget=budget is not None,
    )
    return quota_figures.refusal(
        figures, cost=job.cost, policy=policy, now=now, budget=budget, in_flight=in_flight
    )


def reserve(*, session: Session, job: Job, now: float) -> None:
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


def commit(*, session: Session, job: Job, now: float) -> None:
    """A delivered job keeps its reservation: recorded as a zero-amount entry, counted when
    the job was accepted."""
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


def _credit(
    session: Session,
    *,
    guild_id: int,
    user_id: int,
    units: int,
    counted_at: float,
    now: float,
    actor_id: int,
    note: str,
) -> None:
    session.add(
        LedgerEntry(
            guild_id=guild_id,
            user_id=user_id,
            kind=LedgerKind.GRANT,
            amount=-units,
            counted_at=counted_at,
            created_at=now,
            actor_id=actor_id,
            note=note,
        )
    )


def grant(
    *, session: Session, guild_id: int, user_id: int, units: int, actor_id: int, now: float
) -> None:
    """Extra units for the member, usable until they leave the window like any other."""
    _credit(
        session,
        guild_id=guild_id,
        user_id=user_id,
        units=units,
        counted_at=now,
        now=now,
        actor_id=actor_id,
        note=f"granted {units}",
    )
    audit(
        session=session,
        guild_id=guild_id,
        action=AuditAction.QUOTA,
        now=now,
        user_id=user_id,
        moderator_id=actor_id,
        reason=f"granted {units} units",
    )


def reset(
    *, session: Session, guild_id: int, user_id: int, policy: QuotaPolicy, actor_id: int, now: float
) -> int:
    """Cancel everything the member has counted in the current window. Each counter-entry is
    counted at the time of what it cancels, so both leave the window together."""
    rows = ledger_by_time(
        session, guild_id=guild_id, user_id=user_id, since=policy.window_start(now)
    )
    cleared = 0
    for counted_at, total in rows:
        if total > 0:
            _credit(
                session,
                guild_id=guild_id,
                user_id=user_id,
                units=total,
                counted_at=counted_at,
                now=now,
                actor_id=actor_id,
                note="reset",
            )
            cleared += total
    audit(
        session=session,
        guild_id=guild_id,
        action=AuditAction.QUOTA,
        now=now,
        user_id=user_id,
        moderator_id=actor_id,
        reason=f"reset ({cleared} units cleared)",
    )
    return cleared


def ledger(
    *, session: Session, guild_id: int | None, user_id: int, limit: int = 50
) -> Sequence[LedgerEntry]:
    return session.exec(
        select(LedgerEntry)
        .where(LedgerEntry.guild_id == guild_id, LedgerEntry.user_id == user_id)
        .order_by(col(LedgerEntry.created_at).desc(), col(LedgerEntry.id).desc())
        .limit(limit)
    ).all()
