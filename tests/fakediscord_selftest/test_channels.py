"""Self-tests of the fake's channel rules: threads and forum posts, permission overwrites (and
their inheritance by threads), Send Messages in Threads, Read Message History, and signed,
expiring attachment URLs with the refresh endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import discord
import pytest

from tests.fakediscord import FakeDiscord

GUILD = 1_400_000_000_000_000_001
TEXT = 1_400_000_000_000_000_010
FORUM = 1_400_000_000_000_000_011
VOICE = 1_400_000_000_000_000_012
THREAD = 1_400_000_000_000_000_020
POST = 1_400_000_000_000_000_021
USER = 1_400_000_000_000_000_100
P = discord.Permissions


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    guild = fake.add_guild(GUILD)
    guild.add_channel(TEXT, name="art")
    guild.add_channel(FORUM, name="showcase", type=15)
    guild.add_channel(VOICE, name="lounge", type=2)
    guild.add_thread(THREAD, parent_id=TEXT, name="a thread")
    guild.add_thread(POST, parent_id=FORUM, name="a forum post")
    guild.add_member(USER, name="alice")
    async with fake:
        yield fake


async def call(
    fake: FakeDiscord, method: str, path: str, *, json: Any = None, data: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, fake.api_base + path, json=json, data=data, headers=headers
        ) as response,
    ):
        return response.status, await response.json()


async def post_file(fake: FakeDiscord, channel: int) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("payload_json", '{"content": "with a file"}', content_type="application/json")
    form.add_field("files[0]", b"\x89PNG-ish", filename="a.png", content_type="image/png")
    return await call(fake, "POST", f"/channels/{channel}/messages", data=form)


async def fetch(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        await response.read()
        return response.status


def bot_role(fake: FakeDiscord) -> int:
    return int(fake.guilds[GUILD].members[fake.bot_user_id]["roles"][0])


async def test_threads_and_forum_posts_name_their_parent(fake: FakeDiscord) -> None:
    status, thread = await call(fake, "GET", f"/channels/{THREAD}")
    assert status == 200 and thread["type"] == 11 and thread["parent_id"] == str(TEXT)
    status, post = await call(fake, "GET", f"/channels/{POST}")
    assert post["parent_id"] == str(FORUM)
    payload = fake.guilds[GUILD].guild_payload()
    assert {c["id"] for c in payload["threads"]} == {str(THREAD), str(POST)}
    assert str(THREAD) not in {c["id"] for c in payload["channels"]}


async def test_a_thread_takes_its_parents_overwrites(fake: FakeDiscord) -> None:
    guild = fake.guilds[GUILD]
    guild.set_overwrite(TEXT, bot_role(fake), deny=P(attach_files=True).value, member=False)
    assert not P(fake.app_permissions(THREAD)).attach_files
    assert P(fake.app_permissions(TEXT)).view_channel
    status, body = await post_file(fake, THREAD)
    assert (status, body["code"]) == (403, 50013)
    with pytest.raises(ValueError, match="parent"):
        guild.set_overwrite(THREAD, bot_role(fake), deny=P(attach_files=True).value, member=False)


async def test_posting_in_a_thread_needs_send_messages_in_threads(fake: FakeDiscord) -> None:
    guild = fake.guilds[GUILD]
    # Send Messages alone does not let the bot post in a thread, and vice versa.
    deny = P(send_messages_in_threads=True).value
    guild.set_overwrite(TEXT, fake.bot_user_id, deny=deny, member=True)
    status, body = await call(fake, "POST", f"/channels/{THREAD}/messages", json={"content": "x"})
    assert (status, body["code"]) == (403, 50013)
    status, _ = await call(fake, "POST", f"/channels/{TEXT}/messages", json={"content": "x"})
    assert status == 200
    guild.set_overwrite(TEXT, fake.bot_user_id, deny=P(send_messages=True).value, member=True)
    status, _ = await call(fake, "POST", f"/channels/{THREAD}/messages", json={"content": "x"})
    assert status == 200
    status, _ = await call(fake, "POST", f"/channels/{TEXT}/messages", json={"content": "x"})
    assert status == 403


async def test_an_everyone_deny_is_beaten_by_a_role_allow(fake: FakeDiscord) -> None:
    guild = fake.guilds[GUILD]
    view = P(view_channel=True).value
    guild.set_overwrite(TEXT, GUILD, deny=view, member=False)
    status, body = await call(fake, "POST", f"/channels/{TEXT}/messages", json={"content": "x"})
    assert (status, body["code"]) == (403, 50001)
    assert fake.app_permissions(TEXT) == 0
    guild.set_overwrite(TEXT, bot_role(fake), allow=view, member=False)
    status, _ = await call(fake, "POST", f"/channels/{TEXT}/messages", json={"content": "x"})
    assert status == 200


async def test_reading_messages_needs_read_message_history(fake: FakeDiscord) -> None:
    status, message = await call(
        fake, "POST", f"/channels/{THREAD}/messages", json={"content": "x"}
    )
    assert status == 200
    deny = P(read_message_history=True).value
    fake.guilds[GUILD].set_overwrite(TEXT, fake.bot_user_id, deny=deny, member=True)
    assert not P(fake.app_permissions(THREAD)).read_message_history
    status, body = await call(fake, "GET", f"/channels/{THREAD}/messages/{message['id']}")
    assert (status, body["code"]) == (403, 50013)
    status, listed = await call(fake, "GET", f"/channels/{THREAD}/messages")
    assert (status, listed) == (200, [])  # the documented answer: no messages
    fake.guilds[GUILD].set_overwrite(TEXT, fake.bot_user_id, member=True)
    status, listed = await call(fake, "GET", f"/channels/{THREAD}/messages")
    assert [m["id"] for m in listed] == [message["id"]]


async def test_attachment_urls_are_signed_expire_and_can_be_refreshed(fake: FakeDiscord) -> None:
    status, message = await post_file(fake, TEXT)
    url = message["attachments"][0]["url"]
    query = parse_qs(urlsplit(url).query)
    assert status == 200 and {"ex", "is", "hm"} <= set(query)
    assert int(query["ex"][0], 16) - int(query["is"][0], 16) == 24 * 3600
    assert await fetch(url) == 200
    assert await fetch(url.split("?")[0]) == 404  # unsigned
    assert await fetch(url.replace("hm=", "hm=0")) == 404  # tampered
    fake.clock_offset = fake.attachment_url_lifetime + 1
    assert await fetch(url) == 404  # expired
    assert [p for _, p in fake.refused_cdn] == ["unsigned", "tampered", "expired"]
    # Each fetch of the message signs its URLs again.
    _, again = await call(fake, "GET", f"/channels/{TEXT}/messages/{message['id']}")
    assert await fetch(again["attachments"][0]["url"]) == 200
    status, body = await call(
        fake,
        "POST",
        "/attachments/refresh-urls",
        json={"attachment_urls": [url, "https://example.com/not-discord.png"]},
    )
    [refreshed] = body["refreshed_urls"]
    assert status == 200 and refreshed["original"] == url
    assert await fetch(refreshed["refreshed"]) == 200


async def test_interactions_from_a_thread_carry_the_channel_and_its_parent(
    fake: FakeDiscord,
) -> None:
    seen: asyncio.Queue[discord.Interaction[Any]] = asyncio.Queue()
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)

    @client.event
    async def on_interaction(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("ok", ephemeral=True)
        seen.put_nowait(interaction)

    deny = P(send_messages=True).value
    fake.guilds[GUILD].set_overwrite(FORUM, fake.bot_user_id, deny=deny, member=True)
    with fake.patch_discord():
        task = asyncio.create_task(client.start(fake.token))
        try:
            await asyncio.wait_for(client.wait_until_ready(), timeout=5)
            await fake.invoke("x", guild_id=GUILD, channel_id=POST, user_id=USER)
            interaction = await asyncio.wait_for(seen.get(), timeout=5)
        finally:
            await client.close()
            await asyncio.wait_for(task, timeout=5)
    channel = interaction.channel
    assert isinstance(channel, discord.Thread) and channel.parent_id == FORUM
    assert isinstance(channel.parent, discord.ForumChannel)
    assert not interaction.app_permissions.send_messages
    assert interaction.app_permissions.send_messages_in_threads
    assert fake.internal_errors == []


async def test_an_embed_shows_its_own_file_by_name_with_a_fresh_url(fake: FakeDiscord) -> None:
    embed = {"title": "x", "thumbnail": {"url": "attachment://a.png"}}
    payload = {"embeds": [embed, {"title": "y", "image": {"url": "attachment://nope.png"}}]}
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    form.add_field("files[0]", b"\x89PNG-ish", filename="a.png", content_type="image/png")
    status, message = await call(fake, "POST", f"/channels/{TEXT}/messages", data=form)
    assert status == 200
    assert message["attachments"] == []  # shown inside the embed, not listed again
    shown = message["embeds"][0]["thumbnail"]["url"]
    assert await fetch(shown) == 200
    assert "image" not in message["embeds"][1]  # names no file of this message
    fake.clock_offset = fake.attachment_url_lifetime + 1
    assert await fetch(shown) == 404  # expired, like any attachment URL
    status, edited = await call(
        fake, "PATCH", f"/channels/{TEXT}/messages/{message['id']}", json={"embeds": [embed]}
    )
    assert status == 200  # an edit naming the file it keeps shows it, signed anew
    assert await fetch(edited["embeds"][0]["thumbnail"]["url"]) == 200
