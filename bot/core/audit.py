"""The audit log: its entry and the functions that write and read it. Jobs, quotas and server
rules all write here; this module imports none of them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Column, Index, update
from sqlmodel import Field, Session, SQLModel, col, select

from bot.core.db import enum_column

if TYPE_CHECKING:
    from bot.core.jobs.models import Job


class AuditAction(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    HELD = "held"  # waiting for review
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DELETED = "deleted"
    SETTINGS = "settings"
    QUOTA = "quota"  # an admin granted or reset quota
    FAILOVER = "failover"  # sent to another provider: the default refused it, creating nothing


def _big_or_none() -> Any:
    return Column(BigInteger, nullable=True)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_guild_at", "guild_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int | None = Field(default=None, sa_column=_big_or_none())
    at: float = Field(default_factory=time.time)
    action: AuditAction = Field(sa_column=enum_column(AuditAction))
    user_id: int | None = Field(default=None, sa_column=_big_or_none())
    moderator_id: int | None = Field(default=None, sa_column=_big_or_none())
    job_id: str | None = Field(default=None, max_length=32, index=True)
    prompt: str | None = None
    options: str | None = None
    provider: str | None = None
    cost: int | None = None
    reason: str | None = None
    forwarded: bool = False  # posted to the audit channel (or none configured)


def audit(
    *,
    session: Session,
    guild_id: int | None,
    action: AuditAction,
    now: float,
    user_id: int | None = None,
    moderator_id: int | None = None,
    prompt: str | None = None,
    options: str | None = None,
    provider: str | None = None,
    cost: int | None = None,
    reason: str | None = None,
    job_id: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            guild_id=guild_id,
            at=now,
            action=action,
            user_id=user_id,
            moderator_id=moderator_id,
            prompt=prompt,
            options=options,
            provider=provider,
            cost=cost,
            reason=reason,
            job_id=job_id,
        )
    )


def audit_job(
    session: Session,
    *,
    job: Job,
    action: AuditAction,
    now: float,
    moderator_id: int | None = None,
    reason: str | None = None,
) -> None:
    values = job_audit_values(
        job=job, action=action, now=now, moderator_id=moderator_id, reason=reason
    )
    session.add(AuditEntry(**values))


def job_audit_values(
    *,
    job: Job,
    action: AuditAction,
    now: float,
    moderator_id: int | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The columns of a job's audit entry (all but `id`), by name."""
    options = (
        f"{job.mode} · {job.duration} s · {job.resolution} · "
        f"{job.aspect_ratio or 'from image'} · seed {job.seed}"
    )
    return {
        "guild_id": job.guild_id,
        "action": action,
        "at": now,
        "user_id": job.user_id,
        "moderator_id": moderator_id,
        "job_id": job.id,
        "prompt": job.prompt,
        "options": options,
        "provider": job.provider,
        "cost": job.cost,
        "reason": reason,
        "forwarded": False,
    }


def audit_entries(
    *,
    session: Session,
    guild_id: int,
    user_id: int | None = None,
    since: float | None = None,
    limit: int = 20,
) -> Sequence[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.guild_id == guild_id)
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    return session.exec(
        query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)
    ).all()


def unforwarded(*, session: Session, limit: int = 20) -> Sequence[AuditEntry]:
    return session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.forwarded).is_(False))
        .order_by(col(AuditEntry.id))
        .limit(limit)
    ).all()


def mark_forwarded(*, session: Session, entry_ids: Sequence[int]) -> None:
    if entry_ids:
        session.execute(
            update(AuditEntry).where(col(AuditEntry.id).in_(entry_ids)).values(forwarded=True)
        )
