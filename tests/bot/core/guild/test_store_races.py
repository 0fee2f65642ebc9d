"""Server settings edited at the same moment, on the suite's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.core.db import Database
from bot.core.guild import store
from bot.core.guild.models import GuildConfig, QuotaTier
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


async def _at_once(database: Database, works: list[Any]) -> list[Any]:
    """Run `works` (each given a barrier to wait on before writing) in concurrent
    transactions: all open before any writes, on PostgreSQL; one after another on SQLite,
    whose write transactions are serialised anyway."""
    together = threading.Barrier(1 if database.is_sqlite else len(works))

    def opened(work: Any) -> Any:
        def run(session: Session) -> Any:
            together.wait(timeout=10)
            return work(session)

        return run

    return await asyncio.gather(*(database.run(opened(w)) for w in works), return_exceptions=True)


async def test_the_same_tier_set_by_two_admins_at_once_keeps_one_row(tmp_path: Path) -> None:
    database = await asyncio.to_thread(Database.connect, database_url(tmp_path / "tiers.db"))
    limits = [4, 9, 13]

    def set_to(limit: int) -> Any:
        return lambda s: store.set_tier(
            session=s, tier=QuotaTier(guild_id=GUILD, role_id=555, limit=limit)
        )

    try:
        outcomes = await _at_once(database, [set_to(n) for n in limits])
        stored = await database.run(lambda s: list(store.tiers(session=s, guild_id=GUILD)))
    finally:
        database.close()
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    assert len(stored) == 1 and stored[0].limit in limits


async def test_a_member_blocked_by_two_moderators_at_once_is_blocked_once(
    tmp_path: Path,
) -> None:
    database = await asyncio.to_thread(Database.connect, database_url(tmp_path / "blocks.db"))

    def block_by(moderator: int) -> Any:
        return lambda s: store.block(
            session=s,
            guild_id=GUILD,
            user_id=42,
            reason=f"by {moderator}",
            actor_id=moderator,
            now=float(moderator),
        )

    try:
        outcomes = await _at_once(database, [block_by(m) for m in (1, 2, 3)])
        found = await database.run(lambda s: store.blocked(session=s, guild_id=GUILD, user_id=42))
    finally:
        database.close()
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    assert found is not None and found.reason == f"by {found.blocked_by}"


async def test_filter_rules_added_at_once_never_pass_the_limit(tmp_path: Path) -> None:
    database = await asyncio.to_thread(Database.connect, database_url(tmp_path / "rules.db"))

    def fill(session: Session) -> None:
        for n in range(store.MAX_RULES - 2):
            store.add_rule(
                session=session, guild_id=GUILD, kind="word", pattern=f"w{n}", actor_id=1, now=1.0
            )

    def add(n: int) -> Any:
        return lambda s: store.add_rule(
            session=s, guild_id=GUILD, kind="word", pattern=f"late{n}", actor_id=1, now=2.0
        )

    try:
        await database.run(fill)
        outcomes = await _at_once(database, [add(n) for n in range(5)])
        stored = await database.run(lambda s: list(store.rules(session=s, guild_id=GUILD)))
    finally:
        database.close()
    assert len(stored) == store.MAX_RULES
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 3 and all(isinstance(o, ValueError) for o in refused)
