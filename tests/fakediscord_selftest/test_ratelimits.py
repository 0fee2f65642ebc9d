"""The fake's rate limits behave as Discord documents them (topics/rate-limits), and the real
discord.py client copes with them as it does with Discord."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from tests.fakediscord import FakeDiscord, Limit

GUILD_ID = 1_300_000_000_000_000_001
CHANNEL_ID = 1_300_000_000_000_000_010
OTHER_CHANNEL_ID = 1_300_000_000_000_000_011


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    guild = fake.add_guild(GUILD_ID)
    guild.add_channel(CHANNEL_ID, name="general")
    guild.add_channel(OTHER_CHANNEL_ID, name="other")
    async with fake:
        yield fake


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    client = discord.Client(intents=discord.Intents.none())
    with fake.patch_discord():
        task = asyncio.create_task(client.start(fake.token))
        try:
            await asyncio.wait_for(client.wait_until_ready(), timeout=5)
            yield client
        finally:
            await client.close()
            await asyncio.wait_for(task, timeout=5)
    assert fake.internal_errors == [], fake.internal_errors


def _auth(fake: FakeDiscord) -> dict[str, str]:
    return {"Authorization": f"Bot {fake.token}"}


async def test_creates_and_edits_share_the_channel_bucket(fake: FakeDiscord) -> None:
    url = f"{fake.api_base}/channels/{CHANNEL_ID}/messages"
    async with aiohttp.ClientSession(headers=_auth(fake)) as session:
        seen: list[tuple[str, str, str]] = []
        async with session.post(url, json={"content": "one"}) as resp:
            assert resp.status == 200
            message_id = (await resp.json())["id"]
            headers = resp.headers
            seen.append((headers["X-RateLimit-Bucket"], headers["X-RateLimit-Remaining"], "P"))
            assert headers["X-RateLimit-Limit"] == "5"
            assert 4.9 <= float(headers["X-RateLimit-Reset-After"]) <= 5.0
            assert float(headers["X-RateLimit-Reset"]) > time.time()
            assert headers["Via"] == "1.1 google"
        for n in range(4):
            async with session.patch(f"{url}/{message_id}", json={"content": f"e{n}"}) as resp:
                assert resp.status == 200
                headers = resp.headers
                seen.append((headers["X-RateLimit-Bucket"], headers["X-RateLimit-Remaining"], "E"))
        assert [s[1] for s in seen] == ["4", "3", "2", "1", "0"]
        assert len({s[0] for s in seen}) == 1  # one bucket for posts and edits
        async with session.post(url, json={"content": "six"}) as resp:
            assert resp.status == 429
            body = await resp.json()
            assert body["message"] == "You are being rate limited."
            assert body["global"] is False and 4.5 < body["retry_after"] <= 5.0
            assert resp.headers["X-RateLimit-Scope"] == "user"
            assert resp.headers["Retry-After"] == "5"
            assert resp.headers["Via"] == "1.1 google"  # discord.py retries only with it
            assert resp.headers["X-RateLimit-Remaining"] == "0"
        # Another channel has its own bucket (the channel id is a major parameter).
        other = f"{fake.api_base}/channels/{OTHER_CHANNEL_ID}/messages"
        async with session.post(other, json={"content": "elsewhere"}) as resp:
            assert resp.status == 200 and resp.headers["X-RateLimit-Remaining"] == "4"
    assert fake.rate_limits.count() == 1 and fake.rate_limits.count("user") == 1
    assert [m.content for m in fake.channel_messages(CHANNEL_ID)] == ["e3"]


async def test_the_bucket_resets_after_its_window(fake: FakeDiscord) -> None:
    fake.rate_limits.channel_messages = Limit(2, 0.3)
    url = f"{fake.api_base}/channels/{CHANNEL_ID}/messages"
    async with aiohttp.ClientSession(headers=_auth(fake)) as session:
        statuses = []
        for _ in range(3):
            async with session.post(url, json={"content": "x"}) as resp:
                statuses.append(resp.status)
        await asyncio.sleep(0.35)
        async with session.post(url, json={"content": "x"}) as resp:
            statuses.append(resp.status)
            assert resp.headers["X-RateLimit-Remaining"] == "1"
    assert statuses == [200, 200, 429, 200]


async def test_global_limit_spares_interaction_endpoints(fake: FakeDiscord) -> None:
    fake.rate_limits.global_limit = 3
    async with aiohttp.ClientSession(headers=_auth(fake)) as session:
        statuses = []
        for _ in range(4):
            async with session.get(f"{fake.api_base}/users/@me") as resp:
                statuses.append(resp.status)
        assert statuses == [200, 200, 200, 429]
        async with session.get(f"{fake.api_base}/channels/{CHANNEL_ID}") as resp:
            assert resp.status == 429
            body = await resp.json()
            assert body["global"] is True and 0 < body["retry_after"] <= 1.0
            assert resp.headers["X-RateLimit-Global"] == "true"
            assert resp.headers["X-RateLimit-Scope"] == "global"
        # An interaction callback is not bound by the global limit: it reaches its handler.
        async with session.post(
            f"{fake.api_base}/interactions/1/unknown-token/callback", json={"type": 5}
        ) as resp:
            assert resp.status == 404 and (await resp.json())["code"] == 10062
    assert fake.rate_limits.count("global") == 2


async def test_limits_can_be_turned_off(fake: FakeDiscord) -> None:
    fake.rate_limits.enabled = False
    url = f"{fake.api_base}/channels/{CHANNEL_ID}/messages"
    async with aiohttp.ClientSession(headers=_auth(fake)) as session:
        for _ in range(8):
            async with session.post(url, json={"content": "x"}) as resp:
                assert resp.status == 200 and "X-RateLimit-Limit" not in resp.headers
    assert fake.rate_limits.count() == 0


async def test_discord_py_waits_in_line_and_loses_nothing(
    fake: FakeDiscord, client: discord.Client
) -> None:
    """discord.py reads the headers, learns from ``X-RateLimit-Bucket`` that posts and edits
    share one bucket, and queues its requests per bucket: once it has seen one answer of each
    route, a burst lands without a single 429, never more than the limit in one window."""
    fake.rate_limits.channel_messages = Limit(5, 0.5)
    channel = client.get_partial_messageable(CHANNEL_ID, guild_id=GUILD_ID)
    first = await channel.send("status")
    await first.edit(content="learning the bucket")
    await asyncio.sleep(0.5)
    started = time.monotonic()
    sent = await asyncio.gather(
        *(channel.send(f"post {n}") for n in range(8)),
        *(first.edit(content=f"edit {n}") for n in range(6)),
    )
    elapsed = time.monotonic() - started
    assert len(sent) == 14
    contents = sorted(m.content or "" for m in fake.channel_messages(CHANNEL_ID))
    assert contents == sorted([f"post {n}" for n in range(8)] + [first_content(fake, first.id)])
    assert len(fake.messages[first.id].edits) == 7
    # 14 requests at 5 per 0.5 s: at least two more windows after the first.
    assert elapsed >= 0.9
    accepted = sorted(
        r.time
        for r in fake.requests
        if r.method in ("POST", "PATCH")
        and r.path.startswith(f"/channels/{CHANNEL_ID}/messages")
        and r.status == 200
        and r.time >= started
    )
    assert len(accepted) == 14
    # The fake never let more than 5 through in any 0.5 s (its windows start at a request).
    for i in range(len(accepted) - 5):
        assert accepted[i + 5] - accepted[i] >= 0.5 - 0.01
    assert fake.rate_limits.count() == 0


def first_content(fake: FakeDiscord, message_id: int) -> str:
    return fake.messages[message_id].content or ""
