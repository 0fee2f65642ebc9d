"""Data functions for per-server settings, tiers, blocks and filter rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session, col, select

from bot.core import dialect
from bot.core.audit import AuditAction, audit
from bot.core.guild.models import BlockedMember, FilterRuleRow, GuildConfig, QuotaTier

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
    """Set a role's tier, replacing the one it had (two admins at once: the later one's)."""
    dialect.upsert(session=session, row=tier)


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
    row = BlockedMember(
        guild_id=guild_id, user_id=user_id, reason=reason, blocked_by=actor_id, blocked_at=now
    )
    dialect.upsert(session=session, row=row)  # blocked again: the newest reason stays
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


class TooManyRules(ValueError):
    """The server already has `MAX_RULES` filter rules."""


def add_rule(
    *, session: Session, guild_id: int, kind: str, pattern: str, actor_id: int, now: float
) -> FilterRuleRow:
    # The count and the insert must not interleave with another admin's: hold the server's
    # settings row (stored first if missing, see `bot.core.dialect`) until commit.
    dialect.insert_if_missing(session=session, row=GuildConfig(guild_id=guild_id))
    session.get(GuildConfig, guild_id, with_for_update=True)
    if len(rules(session=session, guild_id=guild_id)) >= MAX_RULES:
        raise TooManyRules(f"a server may have at most {MAX_RULES} filter rules")
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
