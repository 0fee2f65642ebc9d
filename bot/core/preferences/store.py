"""Data functions for saved preferences: read both levels for one request, save and reset."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlmodel import Session

from bot.core import dialect
from bot.core.audit import AuditAction, audit
from bot.core.preferences.models import ChannelDefaults, MemberPreferences

#: The options a preference can hold, in the order they are shown.
OPTIONS = ("provider", "aspect_ratio", "duration", "resolution", "delivery")


@dataclass(frozen=True, slots=True)
class Values:
    """One level's saved values; None where nothing is saved."""

    provider: str | None = None
    aspect_ratio: str | None = None
    duration: int | None = None
    resolution: str | None = None
    delivery: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def merged(self, changes: Values) -> Values:
        """These values with every value `changes` sets replacing the old one."""
        return Values(
            **{
                f.name: getattr(changes, f.name)
                if getattr(changes, f.name) is not None
                else getattr(self, f.name)
                for f in fields(self)
            }
        )


NONE = Values()


@dataclass(frozen=True, slots=True)
class Saved:
    """What applies to one request: the member's own values and the channel's."""

    member: Values = NONE
    channel: Values = NONE


def _values(row: MemberPreferences | ChannelDefaults | None) -> Values:
    if row is None:
        return NONE
    return Values(**{name: getattr(row, name) for name in OPTIONS})


def load(*, session: Session, guild_id: int, user_id: int, channel_id: int) -> Saved:
    member = session.get(MemberPreferences, (guild_id, user_id), populate_existing=True)
    channel = session.get(ChannelDefaults, (guild_id, channel_id), populate_existing=True)
    return Saved(member=_values(member), channel=_values(channel))


def member(*, session: Session, guild_id: int, user_id: int) -> Values:
    return _values(session.get(MemberPreferences, (guild_id, user_id), populate_existing=True))


def channel(*, session: Session, guild_id: int, channel_id: int) -> Values:
    return _values(session.get(ChannelDefaults, (guild_id, channel_id), populate_existing=True))


def _apply(row: Any, values: Values, now: float) -> None:
    for name in OPTIONS:
        setattr(row, name, getattr(values, name))
    row.updated_at = now


def save_member(
    *, session: Session, guild_id: int, user_id: int, values: Values, now: float
) -> Values:
    """Store the member's values as given (the caller merges); return what is stored."""
    dialect.insert_if_missing(
        session=session, row=MemberPreferences(guild_id=guild_id, user_id=user_id, updated_at=now)
    )
    row = session.get(MemberPreferences, (guild_id, user_id), with_for_update=True)
    if row is None:  # pragma: no cover - inserted just above, in this transaction
        raise LookupError(f"the preferences of member {user_id} vanished")
    _apply(row, values, now)
    session.flush()
    return _values(row)


def reset_member(*, session: Session, guild_id: int, user_id: int) -> bool:
    """Forget the member's values on this server; False when there were none."""
    row = session.get(MemberPreferences, (guild_id, user_id))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def save_channel(
    *,
    session: Session,
    guild_id: int,
    channel_id: int,
    values: Values,
    actor_id: int,
    now: float,
) -> Values:
    """Store a channel's defaults (the caller merges); empty values remove the row. Audited
    like every change of a server's settings."""
    if values.empty:
        row = session.get(ChannelDefaults, (guild_id, channel_id))
        if row is not None:
            session.delete(row)
    else:
        dialect.insert_if_missing(
            session=session,
            row=ChannelDefaults(
                guild_id=guild_id, channel_id=channel_id, updated_by=actor_id, updated_at=now
            ),
        )
        found = session.get(ChannelDefaults, (guild_id, channel_id), with_for_update=True)
        if found is None:  # pragma: no cover - inserted just above, in this transaction
            raise LookupError(f"the defaults of channel {channel_id} vanished")
        _apply(found, values, now)
        found.updated_by = actor_id
    shown = ", ".join(f"{n}={getattr(values, n)}" for n in OPTIONS if getattr(values, n)) or "none"
    audit(
        session=session,
        guild_id=guild_id,
        action=AuditAction.SETTINGS,
        now=now,
        moderator_id=actor_id,
        reason=f"channel defaults <#{channel_id}>: {shown}",
    )
    session.flush()
    return values
