"""Server settings edited at the same moment, on the suite's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.core.db import Database
from bot.core.guild import store
from bot.core.guild.models import GuildConfig
from tests.testdb import database_url

GUILD = 77


async def test_first_edits_of_a_server_made_at_once_are_all_kept(tmp_path: Path) -> None:
    """No settings row exists yet, so there is nothing to lock: every edit still lands."""
    database = await asyncio.to_thread(Database.connect, database_url(tmp_path / "edits.db"))
    channels = list(range(1000, 1008))
    together = threading.Barrier(len(channels))

    def add_channel(channel: int) -> Any:
        def edit(current: GuildConfig) -> dict[str, Any]:
            return {"allowed_channel_ids": [*current.allowed_channel_ids, channel]}

        def work(session: Session) -> GuildConfig:
            together.wait(timeout=10)  # all transactions open before any reads the row
            return store.edit_config(
                session=session, guild_id=GUILD, actor_id=1, now=1.0, note="add", edit=edit
            )

        return work

    try:
        if database.is_sqlite:  # one writer thread: the barrier would never fill
            together = threading.Barrier(1)
        await asyncio.gather(*(database.run(add_channel(c)) for c in channels))
        stored = await database.run(lambda s: store.config(session=s, guild_id=GUILD))
    finally:
        database.close()
    assert sorted(stored.allowed_channel_ids) == channels


async def test_first_changes_of_a_server_made_at_once_are_all_kept(tmp_path: Path) -> None:
    """Plain changes (no read of the current value) of a server with no settings row yet."""
    database = await asyncio.to_thread(Database.connect, database_url(tmp_path / "updates.db"))
    changes: list[dict[str, Any]] = [
        {"daily_budget": 40},
        {"review_expiry_hours": 12.0},
        {"audit_channel_id": 4204},
        {"review_channel_id": 4202},
        {"nsfw_channels_only": True},
        {"approval_everywhere": True},
    ]
    together = threading.Barrier(1 if database.is_sqlite else len(changes))

    def change(values: dict[str, Any]) -> Any:
        def work(session: Session) -> GuildConfig:
            together.wait(timeout=10)
            return store.update_config(
                session=session, guild_id=GUILD, actor_id=1, now=1.0, note="set", **values
            )

        return work

    try:
        await asyncio.gather(*(database.run(change(c)) for c in changes))
        stored = await database.run(lambda s: store.config(session=s, guild_id=GUILD))
    finally:
        database.close()
    for values in changes:
        for key, value in values.items():
            assert getattr(stored, key) == value, key
