"""A member's saved defaults per server, and an admin's defaults per channel."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class Delivery(StrEnum):
    CHANNEL = "channel"  # the result is posted in the channel the job was asked in
    DM = "dm"  # the result goes to the member by direct message (the channel if DMs are closed)


def _big(*, primary: bool = False) -> Any:
    return Column(BigInteger, primary_key=primary, nullable=False)


class MemberPreferences(SQLModel, table=True):
    """What a member chose with /settings on one server. None: not chosen."""

    __tablename__ = "member_preferences"

    guild_id: int = Field(sa_column=_big(primary=True))
    user_id: int = Field(sa_column=_big(primary=True))
    provider: str | None = Field(default=None, max_length=16)
    aspect_ratio: str | None = Field(default=None, max_length=8)
    duration: int | None = None
    resolution: str | None = Field(default=None, max_length=8)
    delivery: str | None = Field(default=None, max_length=8)
    updated_at: float = Field(default_factory=time.time)


class ChannelDefaults(SQLModel, table=True):
    """What an admin chose for one channel (a thread follows its parent's). None: not chosen."""

    __tablename__ = "channel_defaults"

    guild_id: int = Field(sa_column=_big(primary=True))
    channel_id: int = Field(sa_column=_big(primary=True))
    provider: str | None = Field(default=None, max_length=16)
    aspect_ratio: str | None = Field(default=None, max_length=8)
    duration: int | None = None
    resolution: str | None = Field(default=None, max_length=8)
    delivery: str | None = Field(default=None, max_length=8)
    updated_by: int = Field(sa_column=_big())
    updated_at: float = Field(default_factory=time.time)
