"""Two bot processes, one shard each, against one fake Discord with 2 shards and one SQLite
file (Discord docs topics/gateway "Sharding"): both come up, the commands are synced once (by
the process holding shard 0), and each server's /video reaches the process holding its shard."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.harness import BOT_TOKEN, CHANNEL, GUILD, MEMBER, World, world
from tests.e2e.processes import BotProcess, spawn_bot

# (guild_id >> 22) % 2: GUILD (4100) is on shard 0, this one on shard 1.
GUILD_ON_1 = (1 << 22) | 4100
CHANNEL_ON_1 = (1 << 22) | 4200
MEMBER_ON_1 = 5099


def command_requests(w: World, guild_id: int) -> list[str]:
    prefix = f"/applications/{w.fake.application_id}/guilds/{guild_id}/commands"
    return [f"{r.method} {r.path}" for r in w.fake.requests if r.path.startswith(prefix)]


async def video(w: World, *, guild_id: int, channel_id: int, user_id: int) -> str:
    interaction = await w.fake.invoke(
        "video",
        [
            {"name": "prompt", "type": 3, "value": f"a lighthouse for {user_id}"},
            {"name": "provider", "type": 3, "value": "wavespeed"},
        ],
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        timeout=30,
    )
    return await w.reply(interaction, timeout=15)


async def test_two_processes_one_shard_each_sync_once_and_answer_their_servers(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, discord_guild_ids=f"{GUILD},{GUILD_ON_1}") as w:
        w.fake.shard_count = 2
        # Real bots of this size get max_concurrency > 1; with 2, shards 0 and 1 identify in
        # different buckets and may start at the same moment.
        w.fake.gateway.max_concurrency = 2
        second_guild = w.fake.add_guild(GUILD_ON_1)
        second_guild.add_channel(CHANNEL_ON_1, name="videos")
        second_guild.add_member(MEMBER_ON_1, name="far-member")
        assert (w.fake.shard_of(GUILD), w.fake.shard_of(GUILD_ON_1)) == (0, 1)

        processes: list[BotProcess] = []
        try:
            processes = list(
                await asyncio.gather(
                    *(
                        spawn_bot(
                            w,
                            tmp_path / f"shard-{shard}.log",
                            DISCORD_SHARD_COUNT="2",
                            DISCORD_SHARD_IDS=str(shard),
                        )
                        for shard in (0, 1)
                    )
                )
            )
            holding_0, holding_1 = processes
            await w.fake.wait_until_connected(timeout=30, guild_id=GUILD)
            await w.fake.wait_until_connected(timeout=30, guild_id=GUILD_ON_1)
            assert sorted(w.fake.gateway.identified_shards) == [(0, 2), (1, 2)]

            # Synced once: one read and one write per server, nothing from the other process.
            for guild_id in (GUILD, GUILD_ON_1):
                assert sorted(command_requests(w, guild_id)) == [
                    f"GET /applications/{w.fake.application_id}/guilds/{guild_id}/commands",
                    f"PUT /applications/{w.fake.application_id}/guilds/{guild_id}/commands",
                ]
                names = {c["name"] for c in w.fake.registered_guild_commands[guild_id]}
                assert {"video", "reelbot"} <= names
            assert "not syncing commands" in holding_1.log_text()
            assert "not syncing commands" not in holding_0.log_text()

            replies = await asyncio.gather(
                video(w, guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER),
                video(w, guild_id=GUILD_ON_1, channel_id=CHANNEL_ON_1, user_id=MEMBER_ON_1),
            )
            assert all("on its way" in reply for reply in replies), replies

            # Each /video was handled by the process holding its server's shard.
            def accepted(process: BotProcess) -> list[str]:
                return [
                    line.split("user ")[-1].rstrip(")")
                    for line in process.log_text().splitlines()
                    if " accepted (" in line
                ]

            assert accepted(holding_0) == [str(MEMBER)]
            assert accepted(holding_1) == [str(MEMBER_ON_1)]
        finally:
            for process in processes:
                await process.stop()
        for process in processes:
            assert process.process.returncode == 0, process.log_text()[-3000:]
            assert BOT_TOKEN not in process.log_text()
