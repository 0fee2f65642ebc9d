"""Per-server settings, stored in the database."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, String, true
from sqlmodel import Field, SQLModel

from bot.core.db import enum_column


class NsfwPolicy(StrEnum):
    REVIEW = "review"  # hold flagged videos for a moderator
    SPOILER = "spoiler"  # post behind a spoiler
    DISCARD = "discard"  # do not post; the member gets their quota back


class Window(StrEnum):
    ROLLING = "rolling"  # the last 24 hours
    DAILY = "daily"  # since midnight UTC


def _big(*, primary: bool = False, nullable: bool = False, index: bool = False) -> Any:
    return Column(BigInteger, primary_key=primary, nullable=nullable, index=index)


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: default.copy(), sa_column=Column(JSON, nullable=False))


class GuildConfig(SQLModel, table=True):
    """One row per server. Empty lists mean "no restriction"."""

    __tablename__ = "guild_config"

    guild_id: int = Field(sa_column=_big(primary=True))
    allowed_channel_ids: list[int] = _json([])
    nsfw_channels_only: bool = False
    allowed_role_ids: list[int] = _json([])
    disabled_providers: list[str] = _json([])
    default_provider: str | None = None
    daily_budget: int | None = None  # job units per UTC day for the whole server
    nsfw_policy: NsfwPolicy = Field(
        default=NsfwPolicy.SPOILER, sa_column=enum_column(NsfwPolicy, default=NsfwPolicy.SPOILER)
    )
    approval_everywhere: bool = False
    approval_channel_ids: list[int] = _json([])
    review_channel_id: int | None = Field(default=None, sa_column=_big(nullable=True))
    review_expiry_hours: float = 24.0
    audit_channel_id: int | None = Field(default=None, sa_column=_big(nullable=True))
    # The language of public posts ("en", "fr", "ja"); None: the server's preferred locale.
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # Send a job to another enabled provider when the default refuses it before creating it.
    failover: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    updated_at: float = Field(default_factory=time.time)


class QuotaTier(SQLModel, table=True):
    """Limits for members with a role. The member gets the most generous tier of their roles;
    the tier of the server's @everyone role (id = server id) applies to all."""

    __tablename__ = "quota_tier"

    guild_id: int = Field(sa_column=_big(primary=True))
    role_id: int = Field(sa_column=_big(primary=True))
    limit: int
    window: Window = Field(
        default=Window.ROLLING, sa_column=enum_column(Window, default=Window.ROLLING)
    )
    max_duration: int = 10
    max_resolution: str = "1080P"
    providers: list[str] = _json([])  # empty: every provider the server enables


class BlockedMember(SQLModel, table=True):
    __tablename__ = "blocked_member"

    guild_id: int = Field(sa_column=_big(primary=True))
    user_id: int = Field(sa_column=_big(primary=True))
    reason: str
    blocked_by: int = Field(sa_column=_big())
    blocked_at: float = Field(default_factory=time.time)


class FilterRuleRow(SQLModel, table=True):
    __tablename__ = "prompt_rule"

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_column=_big(index=True))
    kind: str = Field(max_length=8)  # "word" or "regex"
    pattern: str
    added_by: int = Field(sa_column=_big())
    added_at: float = Field(default_factory=time.time)
