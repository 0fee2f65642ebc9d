"""Data functions for per-server settings, tiers, blocks, filter rules and the audit log."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core import dialect
from bot.core.guild.models import (
    AuditAction,
    AuditEntry,
    BlockedMember,
    FilterRuleRow,
    GuildConfig,
    QuotaTier,
)
from bot.core.jobs import store as jobs_store
from bot.core.jobs.models import (
    ACTIVE_STATES,
    FINAL_STATES,
    Job,
    JobState,
    LedgerEntry,
    LedgerKind,
)
from bot.core.jobs.store import QuotaPolicy

MAX_RULES = 200


def config(*, session: Session, guild_id: int) -> GuildConfig:
    """The server's settings; defaults (not stored) when it never changed any."""
    found = session.get(GuildConfig, guild_id, populate_existing=True)
    return found if found is not None else GuildConfig(guild_id=guild_id)


def update_config(
    *, session: Session, guild_id: int, actor_id: int, now: float, note: str, **changes: Any
) -> GuildConfig:
    # Stored with the defaults first, so that two first changes at once do not both insert it
    # (see `bot.core.dialect`); the row is then locked until commit.
    dialect.insert_if_missing(session=session, row=GuildConfig(guild_id=guild_id))
    current = session.get(GuildConfig, guild_id, with_for_update=True)
    if current is None:
        raise LookupError(f"the settings row of server {guild_id} vanished")
    for key, value in changes.items():
        if not hasattr(current, key):
            raise AttributeError(key)
        setattr(current, key, value)
    current.updated_at = now
    audit(
        session=session,
        guild_id=guild_id,
        action=AuditAction.SETTINGS,
        now=now,
        moderator_id=actor_id,
        reason=note,
    )
    session.flush()
    return current


def edit_config(
    *,
    session: Session,
    guild_id: int,
    actor_id: int,
    now: float,
    note: str,
    edit: Callable[[GuildConfig], dict[str, Any]],
) -> GuildConfig:
    """Read the server's settings and change them in the same transaction: `edit` gets the
    current settings and returns the changes. The read holds the write lock (SQLite's, taken
    by BEGIN IMMEDIATE; a row lock elsewhere), so two admins editing the same list at once
    both keep their change. An exception from `edit` changes nothing.

    A server that never changed a setting has no row to lock yet: it is stored with the
    defaults first (see `bot.core.dialect`), so the first two edits do not both insert it."""
    dialect.insert_if_missing(session=session, row=GuildConfig(guild_id=guild_id))
    current = session.get(GuildConfig, guild_id, with_for_update=True, populate_existing=True)
    changes = edit(current if current is not None else GuildConfig(guild_id=guild_id))
    return update_config(
        session=session, guild_id=guild_id, actor_id=actor_id, now=now, note=note, **changes
    )


def tiers(*, session: Session, guild_id: int) -> Sequence[QuotaTier]:
    return session.exec(
        select(QuotaTier).where(QuotaTier.guild_id == guild_id).order_by(col(QuotaTier.role_id))
    ).all()


def set_tier(*, session: Session, tier: QuotaTier) -> None:
    existing = session.get(QuotaTier, (tier.guild_id, tier.role_id))
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(tier)


def remove_tier(*, session: Session, guild_id: int, role_id: int) -> bool:
    existing = session.get(QuotaTier, (guild_id, role_id))
    if existing is None:
        return False
    session.delete(existing)
    return True


def blocked(*, session: Session, guild_id: int, user_id: int) -> BlockedMember | None:
    return session.get(BlockedMember, (guild_id, user_id), populate_existing=True)


def block(
    *, session: Session, guild_id: int, user_id: int, reason: str, actor_id: int, now: float
) -> None:
    existing = session.get(BlockedMember, (guild_id, user_id))
    if existing is None:
        session.add(
            BlockedMember(
                guild_id=guild_id,
                user_id=user_id,
                reason=reason,
                blocked_by=actor_id,
                blocked_at=now,
            )
        )
    else:
        existing.reason, existing.blocked_by, existing.blocked_at = reason, actor_id, now
    audit(
        session=session,
        guild_id=guild_id,
        action=AuditAction.SETTINGS,
        now=now,
        user_id=user_id,
        moderator_id=actor_id,
        reason=f"blocked: {reason}",
    )


def unblock(*, session: Session, guild_id: int, user_id: int) -> bool:
    existing = session.get(BlockedMember, (guild_id, user_id))
    if existing is None:
        return False
    session.delete(existing)
    return True


def rules(*, session: Session, guild_id: int) -> Sequence[FilterRuleRow]:
    return session.exec(
        select(FilterRuleRow)
        .where(FilterRuleRow.guild_id == guild_id)
        .order_by(col(FilterRuleRow.id))
    ).all()


def add_rule(
    *, session: Session, guild_id: int, kind: str, pattern: str, actor_id: int, now: float
) -> FilterRuleRow:
    if len(rules(session=session, guild_id=guild_id)) >= MAX_RULES:
        raise ValueError(f"a server may have at most {MAX_RULES} filter rules")
    row = FilterRuleRow(
        guild_id=guild_id, kind=kind, pattern=pattern, added_by=actor_id, added_at=now
    )
    session.add(row)
    session.flush()
    return row


def remove_rule(*, session: Session, guild_id: int, rule_id: int) -> bool:
    row = session.get(FilterRuleRow, rule_id)
    if row is None or row.guild_id != guild_id:
        return False
    session.delete(row)
    return True


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
    rows = jobs_store.ledger_by_time(
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


def resolve_unknown(
    *, session: Session, guild_id: int, job_id: str, refund: bool, actor_id: int, now: float
) -> Job | None:
    """An admin settles a job whose outcome at the provider was unknown, after checking the
    provider's dashboard: give the member their units back, or keep the charge. Once."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.guild_id != guild_id or job.state is not JobState.UNKNOWN:
        return None
    if job.moderator_id is not None:  # already settled
        return None
    verdict = "refunded" if refund else "kept charged"
    if refund:
        jobs_store.refund(
            session=session, job=job, now=now, note="unknown job refunded by an admin"
        )
    job.moderator_id = actor_id
    job.error = f"{job.error or 'outcome unknown'}; checked by an admin and {verdict}"
    session.add(job)
    audit(
        session=session,
        guild_id=guild_id,
        action=AuditAction.QUOTA,
        now=now,
        user_id=job.user_id,
        moderator_id=actor_id,
        job_id=job.id,
        prompt=job.prompt,
        reason=f"unknown job {verdict}",
    )
    return job


def erase_prompts(*, session: Session, guild_id: int, user_id: int) -> tuple[int, int]:
    """A member's right to be forgotten: prompts go, counts and outcomes stay. Only finished
    jobs lose theirs: an unfinished job still needs its prompt to be sent. Returns (erased,
    kept unfinished)."""
    mine = (col(Job.guild_id) == guild_id, col(Job.user_id) == user_id)
    unfinished = list(
        session.exec(select(Job.id).where(*mine, col(Job.state).in_(ACTIVE_STATES))).all()
    )
    result: Any = session.execute(
        update(Job).where(*mine, col(Job.state).in_(FINAL_STATES)).values(prompt=None)
    )
    session.execute(
        update(AuditEntry)
        .where(
            col(AuditEntry.guild_id) == guild_id,
            col(AuditEntry.user_id) == user_id,
            col(AuditEntry.job_id).is_(None) | col(AuditEntry.job_id).not_in(unfinished),
        )
        .values(prompt=None)
    )
    return int(result.rowcount or 0), len(unfinished)
