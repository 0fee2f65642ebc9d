"""Self-tests of the fake's direct messages, spoken to over real HTTP as Discord's REST API:
opening a DM channel always works (resources/user, "Create DM"); posting in it is refused
with 403 code 50007 when the member closed their DMs (topics/opcodes-and-status-codes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.fakediscord import FakeDiscord

GUILD_ID = 1_400_000_000_000_000_001
CHANNEL_ID = 1_400_000_000_000_000_010
MEMBER = 1_400_000_000_000_000_100


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    guild = fake.add_guild(GUILD_ID)
    guild.add_channel(CHANNEL_ID, name="general")
    guild.add_member(MEMBER, name="member")
    async with fake:
        yield fake
    assert fake.internal_errors == [], fake.internal_errors


@pytest.fixture
async def http(fake: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session:
        yield session


async def open_dm(fake: FakeDiscord, http: aiohttp.ClientSession) -> int:
    async with http.post(
        f"{fake.api_base}/users/@me/channels", json={"recipient_id": str(MEMBER)}
    ) as resp:
        assert resp.status == 200
        channel = await resp.json()
    assert channel["type"] == 1 and channel["recipients"][0]["id"] == str(MEMBER)
    return int(channel["id"])


async def test_the_same_dm_channel_is_returned_every_time(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    assert await open_dm(fake, http) == await open_dm(fake, http)


async def test_a_member_with_open_dms_gets_the_message(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    channel = await open_dm(fake, http)
    url = f"{fake.api_base}/channels/{channel}/messages"
    async with http.post(url, json={"content": "hello"}) as resp:
        assert resp.status == 200
    assert [m.content for m in fake.channel_messages(channel)] == ["hello"]


async def test_a_member_with_closed_dms_refuses_the_post_with_50007(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    fake.closed_dms.add(MEMBER)
    channel = await open_dm(fake, http)  # opening still works
    async with http.post(
        f"{fake.api_base}/channels/{channel}/messages", json={"content": "hello"}
    ) as resp:
        assert resp.status == 403
        assert (await resp.json())["code"] == 50007
    assert fake.channel_messages(channel) == []
