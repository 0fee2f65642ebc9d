"""Command sync at start-up, end to end: a stale server id, global commands left behind,
and syncing only what changed (Discord docs interactions/application-commands)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.e2e.harness import CHANNEL, GUILD, MEMBER, World, world

STALE_GUILD = 4999  # in DISCORD_GUILD_IDS, but the bot is not (or no longer) in it


def command_writes(w: World, guild_id: int | None) -> list[str]:
    """The registry-changing requests (PUT/POST/DELETE) the bot sent for one registry."""
    app = w.fake.application_id
    base = (
        f"/applications/{app}/commands"
        if guild_id is None
        else (f"/applications/{app}/guilds/{guild_id}/commands")
    )
    return [
        f"{r.method} {r.path}"
        for r in w.fake.requests
        if r.method in ("PUT", "POST", "DELETE", "PATCH")
        and r.path.startswith(base)
        and (guild_id is not None or "/guilds/" not in r.path)
    ]


async def test_a_stale_server_id_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.discord_layer.client")
    async with world(tmp_path, discord_guild_ids=f"{STALE_GUILD},{GUILD}") as w:
        await w.start_bot()
        assert {c["name"] for c in w.fake.registered_guild_commands[GUILD]} >= {
            "video",
            "reelbot",
        }
        assert STALE_GUILD not in w.fake.registered_guild_commands
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any(str(STALE_GUILD) in m and "DISCORD_GUILD_IDS" in m for m in warnings), warnings
        # the bot works on the good server
        reply = await w.reply(
            await w.fake.invoke("quota", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
        )
        assert "Used:" in reply


async def test_server_sync_removes_the_old_global_commands(tmp_path: Path) -> None:
    async with world(tmp_path, discord_guild_ids="") as w:
        await w.start_bot()
        assert {c["name"] for c in w.fake.registered_global_commands} >= {"video", "reelbot"}
        await w.stop_bot()
        await w.start_bot(discord_guild_ids=[GUILD])
        assert w.fake.registered_global_commands == []
        visible = w.fake.visible_commands(GUILD)
        assert len(visible) == len(set(visible))  # members see each command once
        assert {c["name"] for c in w.fake.registered_guild_commands[GUILD]} >= {"video"}


async def test_unchanged_commands_are_not_synced_again(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        assert len(command_writes(w, GUILD)) == 1
        first_ids = {c["name"]: c["id"] for c in w.fake.registered_guild_commands[GUILD]}
        await w.stop_bot()
        await w.start_bot()
        assert len(command_writes(w, GUILD)) == 1  # nothing changed: no second PUT
        assert command_writes(w, None) == []
        ids = {c["name"]: c["id"] for c in w.fake.registered_guild_commands[GUILD]}
        assert ids == first_ids


async def test_changed_commands_are_synced(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        # what an older version of the bot registered: a command since removed
        w.fake.register_commands(GUILD, [{"name": "old", "description": "Gone", "type": 1}])
        await w.start_bot()
        names = {c["name"] for c in w.fake.registered_guild_commands[GUILD]}
        assert "old" not in names and "video" in names
        assert len(command_writes(w, GUILD)) == 1
