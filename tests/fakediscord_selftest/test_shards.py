"""Self-tests of the fake Discord's shards (Discord docs topics/gateway "Sharding", "Identify",
"Get Gateway Bot"), driven by discord.py's real AutoShardedBot and by a bare websocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from tests.fakediscord import FakeDiscord
from tests.fakediscord._gateway import GatewayConnection

# (guild_id >> 22) % 2 picks the shard: 1000 is even, 1001 odd.
GUILD_ON_0 = (1000 << 22) | 7
GUILD_ON_1 = (1001 << 22) | 7
CHANNEL_ON_0 = 1_400_000_000_000_000_010
CHANNEL_ON_1 = 1_400_000_000_000_000_011
USER_ID = 1_400_000_000_000_000_100


class ShardBot(commands.AutoShardedBot):
    """A tiny sharded bot: `/where` answers which shard this process holds."""

    def __init__(self, **options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0.1,
            **options,
        )
        self.seen: list[discord.Interaction[ShardBot]] = []
        self.channel_updates: list[int] = []

        @self.tree.command(name="where", description="Which shard answers")
        async def where(interaction: discord.Interaction[ShardBot]) -> None:
            await interaction.response.send_message(f"shard {interaction.client.shard_ids}")

    async def on_interaction(self, interaction: discord.Interaction[ShardBot]) -> None:
        self.seen.append(interaction)

    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        self.channel_updates.append(after.id)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s pause between this process's shards: the fake's max_concurrency of 2 puts
        shards 0 and 1 in different identify buckets."""


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    # max_concurrency 2: shards 0 and 1 are in different identify buckets (0 % 2, 1 % 2).
    fake = FakeDiscord(shard_count=2, max_concurrency=2)
    for guild_id, channel_id in ((GUILD_ON_0, CHANNEL_ON_0), (GUILD_ON_1, CHANNEL_ON_1)):
        guild = fake.add_guild(guild_id, name=f"guild {fake.shard_of(guild_id)}")
        guild.add_channel(channel_id, name="general")
        guild.add_member(USER_ID, name="alice")
    async with fake:
        yield fake


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, **options: Any) -> AsyncIterator[ShardBot]:
    bot = ShardBot(**options)
    task = asyncio.create_task(bot.start(fake.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), timeout=5)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, timeout=5)


async def test_gateway_bot_answers_the_shard_count_and_session_start_limit(
    fake: FakeDiscord,
) -> None:
    async def gateway_bot() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                fake.api_base + "/gateway/bot", headers={"Authorization": f"Bot {fake.token}"}
            ) as response,
        ):
            assert response.status == 200
            body: dict[str, Any] = await response.json()
            return body

    before = await gateway_bot()
    assert before["url"] == fake.gateway_url
    assert before["shards"] == 2
    assert before["session_start_limit"]["total"] == 1000
    assert before["session_start_limit"]["remaining"] == 1000
    assert before["session_start_limit"]["max_concurrency"] == 2
    with fake.patch_discord():
        async with running(fake):  # no shard_count: asks GET /gateway/bot, runs both shards
            pass
    after = await gateway_bot()
    assert after["session_start_limit"]["remaining"] == 998
    assert 0 < after["session_start_limit"]["reset_after"] <= 24 * 3600 * 1000
    assert sorted(fake.gateway.identified_shards) == [(0, 2), (1, 2)]


async def test_two_processes_each_see_only_the_guilds_of_their_shard(fake: FakeDiscord) -> None:
    with fake.patch_discord():
        async with (
            running(fake, shard_count=2, shard_ids=[0]) as first,
            running(fake, shard_count=2, shard_ids=[1]) as second,
        ):
            assert [g.id for g in first.guilds] == [GUILD_ON_0]
            assert [g.id for g in second.guilds] == [GUILD_ON_1]
            assert sorted(fake.gateway.identified_shards) == [(0, 2), (1, 2)]


async def test_an_interaction_reaches_only_the_process_holding_its_guilds_shard(
    fake: FakeDiscord,
) -> None:
    with fake.patch_discord():
        async with (
            running(fake, shard_count=2, shard_ids=[0]) as first,
            running(fake, shard_count=2, shard_ids=[1]) as second,
        ):
            on_1 = await fake.invoke(
                "where", [], guild_id=GUILD_ON_1, channel_id=CHANNEL_ON_1, user_id=USER_ID
            )
            await on_1.wait_acknowledged()
            assert on_1.original is not None and on_1.original.content == "shard [1]"
            assert [i.id for i in second.seen] == [on_1.id]
            assert first.seen == []

            on_0 = await fake.invoke(
                "where", [], guild_id=GUILD_ON_0, channel_id=CHANNEL_ON_0, user_id=USER_ID
            )
            await on_0.wait_acknowledged()
            assert on_0.original is not None and on_0.original.content == "shard [0]"
            assert [i.id for i in first.seen] == [on_0.id]

            # Discord docs topics/gateway "Sharding": DMs only go to shard 0.
            in_dm = await fake.invoke("where", [], guild_id=None, channel_id=0, user_id=USER_ID)
            await in_dm.wait_acknowledged()
            assert [i.id for i in first.seen] == [on_0.id, in_dm.id]
            assert [i.id for i in second.seen] == [on_1.id]


async def test_two_sessions_on_one_shard_the_newest_hears_unless_one_is_named(
    fake: FakeDiscord,
) -> None:
    """A rolling restart's overlap: two processes hold shard 0. Events go to the newest
    session, a test can name either (`via`), and when the newest goes away the older one,
    still connected, hears them again."""
    fake.gateway.identify_window = 0.1  # both identify in bucket 0; no 5 s wait here
    with fake.patch_discord():
        async with running(fake, shard_count=2, shard_ids=[0]) as old:
            async with running(fake, shard_count=2, shard_ids=[0]) as new:
                older, newer = fake.gateway.holding(GUILD_ON_0)
                assert fake.gateway.holding(GUILD_ON_1) == []

                async def where(via: GatewayConnection | None = None) -> int:
                    interaction = await fake.invoke(
                        "where",
                        [],
                        guild_id=GUILD_ON_0,
                        channel_id=CHANNEL_ON_0,
                        user_id=USER_ID,
                        via=via,
                    )
                    await interaction.wait_acknowledged()
                    return interaction.id

                to_new = await where()
                to_old = await where(via=older)
                assert [i.id for i in new.seen] == [to_new]
                assert [i.id for i in old.seen] == [to_old]
                with pytest.raises(AssertionError, match="not a live session"):
                    await fake.gateway.dispatch(
                        "TYPING_START", {"guild_id": str(GUILD_ON_1)}, via=newer
                    )
            left = await where()
            assert [i.id for i in old.seen] == [to_old, left]


async def test_guild_events_go_only_to_the_shard_of_their_guild(fake: FakeDiscord) -> None:
    with fake.patch_discord():
        async with (
            running(fake, shard_count=2, shard_ids=[0]) as first,
            running(fake, shard_count=2, shard_ids=[1]) as second,
        ):
            fake.channel_changed(CHANNEL_ON_1)  # CHANNEL_UPDATE, guild_id in the payload
            await fake.wait_for(lambda: second.channel_updates == [CHANNEL_ON_1], timeout=5)
            joined = (1003 << 22) | 7  # a server added later, on shard 1
            fake.add_guild(joined, name="joined later")
            assert await fake.send_guild_create(joined)
            await fake.wait_for(lambda: second.get_guild(joined) is not None, timeout=5)
            assert first.channel_updates == []
            assert [g.id for g in first.guilds] == [GUILD_ON_0]


async def test_a_shard_id_outside_the_shard_count_is_refused_with_4010(fake: FakeDiscord) -> None:
    bot = ShardBot(shard_count=2, shard_ids=[2])
    with fake.patch_discord(), pytest.raises(discord.ConnectionClosed) as raised:
        await asyncio.wait_for(bot.start(fake.token), timeout=5)
    await bot.close()
    assert raised.value.code == 4010
    assert fake.identifies == 0


async def identify(
    fake: FakeDiscord, http: aiohttp.ClientSession, shard: object
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any] | None]:
    """Open a bare gateway connection and IDENTIFY; the first answer after HELLO (None when
    the gateway closed the connection instead)."""
    ws = await http.ws_connect(fake.gateway_url)
    hello = await ws.receive_json(timeout=5)
    assert hello["op"] == 10
    data: dict[str, Any] = {"token": fake.token, "intents": 0, "properties": {}}
    if shard is not None:
        data["shard"] = shard
    await ws.send_str(json.dumps({"op": 2, "d": data}))
    message = await ws.receive(timeout=5)
    if message.type is not aiohttp.WSMsgType.TEXT:
        return ws, None
    answer: dict[str, Any] = json.loads(message.data)
    return ws, answer


@pytest.mark.parametrize("shard", [[2, 2], [-1, 2], [0, 0], [0], "0,2", [0.0, 2.0]])
async def test_malformed_or_out_of_range_shards_are_closed_with_4010(
    fake: FakeDiscord, shard: object
) -> None:
    async with aiohttp.ClientSession() as http:
        ws, answer = await identify(fake, http, shard)
        assert answer is None
        assert ws.close_code == 4010
        await ws.close()
    assert fake.identifies == 0


async def test_too_many_guilds_for_the_shard_count_is_refused_with_4011() -> None:
    async with FakeDiscord(guilds_per_shard=1) as fake, aiohttp.ClientSession() as http:
        fake.add_guild(GUILD_ON_0)
        fake.add_guild(GUILD_ON_1)
        unsharded, answer = await identify(fake, http, None)
        assert answer is None and unsharded.close_code == 4011
        await unsharded.close()
        sharded, ready = await identify(fake, http, [1, 2])
        assert ready is not None and ready["t"] == "READY"
        assert [g["id"] for g in ready["d"]["guilds"]] == [str(GUILD_ON_1)]
        assert ready["d"]["shard"] == [1, 2]
        await sharded.close()


async def test_identifies_in_one_bucket_wait_out_the_window() -> None:
    """Discord docs topics/gateway "Session Start Limit": one IDENTIFY per bucket
    (``shard_id % max_concurrency``) per 5 s; beyond it the gateway answers op 9."""
    async with (
        FakeDiscord(max_concurrency=2, identify_window=0.5) as fake,
        aiohttp.ClientSession() as http,
    ):
        shard_0, ready_0 = await identify(fake, http, [0, 4])
        shard_1, ready_1 = await identify(fake, http, [1, 4])  # another bucket: at once
        assert ready_0 is not None and ready_0["t"] == "READY"
        assert ready_1 is not None and ready_1["t"] == "READY"
        shard_2, refused = await identify(fake, http, [2, 4])  # bucket 0 again, too soon
        assert refused == {"op": 9, "d": False, "s": None, "t": None}
        assert fake.gateway.identify_rate_limited == 1
        await asyncio.sleep(0.5)
        shard_2b, ready_2 = await identify(fake, http, [2, 4])
        assert ready_2 is not None and ready_2["t"] == "READY"
        assert fake.identifies == 3
        for ws in (shard_0, shard_1, shard_2, shard_2b):
            await ws.close()
