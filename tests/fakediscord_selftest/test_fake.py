"""Self-tests of the fake Discord, driven by a tiny but real discord.py bot."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import FLAG_EPHEMERAL, FakeDiscord, FakeMessage

GUILD_ID = 1_300_000_000_000_000_001
CHANNEL_ID = 1_300_000_000_000_000_010
DENIED_CHANNEL_ID = 1_300_000_000_000_000_011
USER_ID = 1_300_000_000_000_000_100
OTHER_USER_ID = 1_300_000_000_000_000_101
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6e0"
    "b50000000049454e44ae426082"
)


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"job:(?P<job>[0-9]+)"
):
    """A persistent button: the job id lives in the custom_id, no timeout."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Retry", style=discord.ButtonStyle.primary, custom_id=f"job:{job_id}"
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> JobButton:
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: TinyBot = interaction.client
        bot.results["clicked"] = self.job_id
        await interaction.response.edit_message(content=f"retrying job {self.job_id}", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Your feedback", custom_id="feedback:text"
    )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(f"got {self.text.value}", ephemeral=True)


class TinyBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0.1,
        )
        self.results: dict[str, Any] = {}
        self.errors: list[BaseException] = []
        self.proceed = asyncio.Event()

    async def setup_hook(self) -> None:
        self.add_dynamic_items(JobButton)
        guild = discord.Object(GUILD_ID)
        for command in COMMANDS:
            self.tree.add_command(command, guild=guild)

        @self.tree.error
        async def on_app_command_error(
            interaction: discord.Interaction[Any], error: app_commands.AppCommandError
        ) -> None:
            self.errors.append(
                error.original if isinstance(error, app_commands.CommandInvokeError) else error
            )


def _bot(interaction: discord.Interaction[Any]) -> TinyBot:
    client = interaction.client
    assert isinstance(client, TinyBot)
    return client


@app_commands.command(name="render", description="Render a video")
@app_commands.describe(prompt="What to render")
async def render(interaction: discord.Interaction[Any], prompt: str) -> None:
    await interaction.response.defer(thinking=True)
    message = await interaction.followup.send(
        f"rendered {prompt}", file=discord.File(io.BytesIO(b"fake-mp4"), "clip.mp4"), wait=True
    )
    await interaction.edit_original_response(content=f"final: {prompt}")
    extra = await interaction.followup.send("second follow-up", wait=True)
    _bot(interaction).results["render"] = (message.id, extra.id)


@app_commands.command(name="secret", description="Ephemeral answer")
async def secret(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.send_message("only you can see this", ephemeral=True)


@app_commands.command(name="post", description="Post to the channel")
async def post(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    assert interaction.channel is not None and isinstance(interaction.channel, discord.TextChannel)
    sent = await interaction.channel.send(
        f"<@{interaction.user.id}> your clip @everyone <@{OTHER_USER_ID}>",
        file=discord.File(io.BytesIO(b"clip-bytes"), "clip.mp4"),
        allowed_mentions=discord.AllowedMentions(
            everyone=False, users=[interaction.user], roles=False
        ),
    )
    _bot(interaction).results["post"] = sent
    await interaction.followup.send("posted", ephemeral=True)


@app_commands.command(name="denied", description="Post where the bot may not")
async def denied(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    assert isinstance(interaction.channel, discord.TextChannel)
    _bot(interaction).results["app_permissions"] = interaction.app_permissions
    try:
        await interaction.channel.send("hello")
    except discord.Forbidden as exc:
        _bot(interaction).results["forbidden"] = exc
        await interaction.followup.send("I cannot post in this channel.", ephemeral=True)


@app_commands.command(name="big", description="Upload too much")
async def big(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.defer(thinking=True)
    _bot(interaction).results["filesize_limit"] = interaction.filesize_limit
    payload = b"x" * (interaction.filesize_limit + 1)
    try:
        await interaction.followup.send(file=discord.File(io.BytesIO(payload), "big.mp4"))
    except discord.HTTPException as exc:
        _bot(interaction).results["too_big"] = exc
        await interaction.followup.send("The file is too large, here is a link instead.")


@app_commands.command(name="slow", description="Outlive the token")
async def slow(interaction: discord.Interaction[Any]) -> None:
    bot = _bot(interaction)
    await interaction.response.defer(thinking=True)
    await bot.proceed.wait()
    try:
        await interaction.edit_original_response(content="done")
    except discord.HTTPException as exc:
        bot.results["expired"] = exc
    assert isinstance(interaction.channel, discord.TextChannel)
    bot.results["fallback"] = await interaction.channel.send("done (posted to the channel)")


@app_commands.command(name="job", description="Post a persistent button")
async def job(interaction: discord.Interaction[Any]) -> None:
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton(42))
    await interaction.response.send_message("job 42 failed", view=view)
    view.stop()  # only the registered DynamicItem can answer now, as after a restart


@app_commands.command(name="upload", description="Read an attachment")
async def upload(interaction: discord.Interaction[Any], image: discord.Attachment) -> None:
    await interaction.response.defer(thinking=True)
    data = await image.read()
    _bot(interaction).results["upload"] = (image.filename, image.content_type, image.width, data)
    await interaction.followup.send(f"read {len(data)} bytes")


@app_commands.command(name="feedback", description="Open a modal")
async def feedback(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.send_modal(FeedbackModal())


async def model_autocomplete(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    models = ["dreamina-3.0", "dreamina-3.0-pro", "seedance"]
    return [app_commands.Choice(name=m, value=m) for m in models if m.startswith(current)]


@app_commands.command(name="pick", description="Autocomplete a model")
@app_commands.autocomplete(model=model_autocomplete)
async def pick(interaction: discord.Interaction[Any], model: str) -> None:
    await interaction.response.send_message(f"picked {model}", ephemeral=True)


COMMANDS: list[app_commands.Command[Any, ..., Any]] = [
    pick,
    render,
    secret,
    post,
    denied,
    big,
    slow,
    job,
    upload,
    feedback,
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    guild = fake.add_guild(GUILD_ID, name="Fake Guild")
    guild.add_channel(CHANNEL_ID, name="general")
    guild.add_channel(DENIED_CHANNEL_ID, name="read-only")
    guild.add_member(USER_ID, name="alice")
    guild.add_member(OTHER_USER_ID, name="bob")
    async with fake:
        yield fake


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[TinyBot]:
    bot = TinyBot()
    with fake.patch_discord():
        task = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), timeout=5)
            await bot.tree.sync(guild=discord.Object(GUILD_ID))
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(task, timeout=5)
    assert bot.errors == [], bot.errors
    assert fake.internal_errors == [], fake.internal_errors


async def test_login_ready_and_guild_available(fake: FakeDiscord, bot: TinyBot) -> None:
    assert bot.user is not None and bot.user.id == fake.bot_user_id
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None and not guild.unavailable and guild.name == "Fake Guild"
    channel = guild.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel) and channel.name == "general"
    assert guild.me is not None and guild.me.id == fake.bot_user_id
    assert fake.identifies == 1 and fake.resumes == 0
    paths = [r.path for r in fake.requests]
    assert paths[:2] == ["/users/@me", "/oauth2/applications/@me"]
    assert all(r.headers.get("Authorization") == "Bot [redacted]" for r in fake.requests)
    assert all(fake.token not in repr(r.headers) for r in fake.requests)


async def test_tree_sync_records_guild_commands(fake: FakeDiscord, bot: TinyBot) -> None:
    synced = fake.synced_guild_commands[GUILD_ID]
    assert {c["name"] for c in synced} == {c.name for c in COMMANDS}
    render_def = fake.commands["render"]
    assert render_def["description"] == "Render a video"
    assert render_def["options"][0]["name"] == "prompt"
    assert render_def["options"][0]["type"] == 3
    assert "id" not in render_def  # exactly as the client PUT it
    fetched = await bot.tree.fetch_commands(guild=discord.Object(GUILD_ID))
    assert {c.name: c.id for c in fetched}["render"] == fake.command_id("render", GUILD_ID)
    # re-syncing keeps the ids, like Discord
    again = await bot.tree.sync(guild=discord.Object(GUILD_ID))
    assert {c.name: c.id for c in again} == {c.name: c.id for c in fetched}


async def test_defer_followup_with_file_and_edit_original(fake: FakeDiscord, bot: TinyBot) -> None:
    interaction = await fake.invoke(
        "render",
        [{"name": "prompt", "type": 3, "value": "a cat"}],
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=USER_ID,
    )
    await interaction.wait_acknowledged()
    assert interaction.callbacks[0]["type"] == 5
    assert interaction.acknowledged_at is not None and interaction.acknowledged_at < 3
    await fake.wait_for(lambda: "render" in bot.results)
    first_id, extra_id = bot.results["render"]
    original = interaction.original
    assert original is not None and original.via == "original"
    # Discord: the first follow-up after a deferral replaces the "thinking" message
    assert original.id == first_id and not original.loading
    assert [f.filename for f in original.files] == ["clip.mp4"]
    assert original.files[0].data == b"fake-mp4"
    assert original.attachments[0]["filename"] == "clip.mp4"
    assert original.edits[-1]["content"] == "final: a cat"
    assert original.content == "final: a cat"
    assert [m.id for m in interaction.followups] == [first_id, extra_id]
    assert interaction.followups[1].via == "webhook"
    assert interaction.followups[1].content == "second follow-up"
    assert not interaction.ephemeral
    assert fake.messages[extra_id].interaction_id == interaction.id


async def test_ephemeral_response(fake: FakeDiscord, bot: TinyBot) -> None:
    interaction = await fake.invoke(
        "secret", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    await interaction.wait_acknowledged()
    assert interaction.ephemeral
    assert interaction.callbacks[0]["type"] == 4
    assert interaction.original is not None
    assert interaction.original.flags & FLAG_EPHEMERAL
    assert interaction.original.content == "only you can see this"


async def test_channel_post_with_file_and_allowed_mentions(fake: FakeDiscord, bot: TinyBot) -> None:
    interaction = await fake.invoke(
        "post", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    message = await fake.wait_for_message(lambda m: m.via == "channel")
    assert message.channel_id == CHANNEL_ID
    assert message.allowed_mentions == {"parse": [], "users": [USER_ID], "replied_user": True}
    assert message.mentioned_user_ids == [USER_ID]  # bob and @everyone are not pinged
    assert not message.mention_everyone
    assert [(f.filename, f.data) for f in message.files] == [("clip.mp4", b"clip-bytes")]
    assert fake.channel_messages(CHANNEL_ID, include_ephemeral=False) == [message]
    await fake.wait_for(lambda: len(interaction.followups) == 1)
    sent: discord.Message = bot.results["post"]
    assert sent.id == message.id and sent.attachments[0].filename == "clip.mp4"
    assert interaction.ephemeral and interaction.followups[0].ephemeral


async def test_denied_channel_raises_forbidden(fake: FakeDiscord, bot: TinyBot) -> None:
    fake.deny_channel(DENIED_CHANNEL_ID)
    interaction = await fake.invoke(
        "denied", guild_id=GUILD_ID, channel_id=DENIED_CHANNEL_ID, user_id=USER_ID
    )
    await fake.wait_for(lambda: len(interaction.followups) == 1)
    exc = bot.results["forbidden"]
    assert isinstance(exc, discord.Forbidden) and exc.status == 403 and exc.code == 50013
    assert not bot.results["app_permissions"].send_messages
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None
    cached = guild.get_channel(DENIED_CHANNEL_ID)
    assert isinstance(cached, discord.TextChannel)
    assert not cached.permissions_for(guild.me).send_messages  # CHANNEL_UPDATE reached the bot
    assert interaction.followups[0].content == "I cannot post in this channel."
    assert fake.channel_messages(DENIED_CHANNEL_ID, include_ephemeral=False) == []
    fake.allow_channel(DENIED_CHANNEL_ID)
    assert fake.app_permissions(DENIED_CHANNEL_ID) == fake.app_permissions(CHANNEL_ID)


async def test_upload_over_limit_is_413(fake: FakeDiscord, bot: TinyBot) -> None:
    fake.upload_limit = 1000
    interaction = await fake.invoke(
        "big", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    await fake.wait_for(lambda: "too_big" in bot.results)
    exc = bot.results["too_big"]
    assert isinstance(exc, discord.HTTPException) and exc.status == 413 and exc.code == 40005
    assert bot.results["filesize_limit"] == 1000
    await fake.wait_for(lambda: len(interaction.followups) == 1)
    assert interaction.followups[0].files == []


async def test_expired_token_webhook_fails_channel_post_works(
    fake: FakeDiscord, bot: TinyBot
) -> None:
    interaction = await fake.invoke(
        "slow", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    await interaction.wait_acknowledged()
    fake.expire_interaction_tokens()
    bot.proceed.set()
    await fake.wait_for(lambda: "fallback" in bot.results)
    exc = bot.results["expired"]
    assert isinstance(exc, discord.HTTPException) and exc.status == 401 and exc.code == 50027
    posted = fake.messages[bot.results["fallback"].id]
    assert posted.via == "channel" and posted.content == "done (posted to the channel)"
    assert interaction.original is not None and interaction.original.loading


async def test_token_lifetime_is_enforced(fake: FakeDiscord, bot: TinyBot) -> None:
    fake.interaction_token_lifetime = 0.3
    interaction = await fake.invoke(
        "slow", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    await interaction.wait_acknowledged()
    await asyncio.sleep(0.35)
    bot.proceed.set()
    await fake.wait_for(lambda: "fallback" in bot.results)
    exc = bot.results["expired"]
    assert isinstance(exc, discord.HTTPException) and exc.code == 50027


async def test_persistent_dynamic_button(fake: FakeDiscord, bot: TinyBot) -> None:
    interaction = await fake.invoke(
        "job", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    await interaction.wait_acknowledged()
    message = interaction.original
    assert message is not None and message.custom_ids() == ["job:42"]
    click = await fake.click(message, "job:42", user_id=OTHER_USER_ID)
    await click.wait_acknowledged()
    assert bot.results["clicked"] == 42
    assert click.callbacks[0]["type"] == 7
    assert message.content == "retrying job 42" and message.components == []
    assert click.original is message


async def test_attachment_option_is_readable(fake: FakeDiscord, bot: TinyBot) -> None:
    attachment = fake.add_attachment(
        PNG_1x1, filename="input.png", content_type="image/png", width=1, height=1
    )
    assert "ephemeral-attachments" in attachment["url"]
    interaction = await fake.invoke(
        "upload",
        [{"name": "image", "type": 11, "value": attachment["id"]}],
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=USER_ID,
        attachments=[attachment],
    )
    await fake.wait_for(lambda: len(interaction.followups) == 1)
    assert bot.results["upload"] == ("input.png", "image/png", 1, PNG_1x1)
    assert interaction.original is not None
    assert interaction.original.content == f"read {len(PNG_1x1)} bytes"


async def test_gateway_drop_resumes_and_still_handles_interactions(
    fake: FakeDiscord, bot: TinyBot
) -> None:
    resumed = asyncio.Event()
    bot.add_listener(_set_event(resumed), "on_resumed")
    await fake.drop_gateway()
    await fake.wait_for(lambda: fake.resumes == 1)
    await asyncio.wait_for(resumed.wait(), timeout=5)
    assert fake.identifies == 1
    interaction = await fake.invoke(
        "secret", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    await interaction.wait_acknowledged()
    assert interaction.original is not None
    assert interaction.original.content == "only you can see this"


def _set_event(event: asyncio.Event) -> Any:
    async def listener() -> None:
        event.set()

    return listener


async def test_429_with_via_is_retried(fake: FakeDiscord, bot: TinyBot) -> None:
    path = rf"^/channels/{CHANNEL_ID}/messages$"
    fake.fail_next(
        "POST",
        path,
        status=429,
        json={"retry_after": 0.1, "global": False, "message": "You are being rate limited."},
        headers={"Via": "1.1 google"},
    )
    started = time.monotonic()
    interaction = await fake.invoke(
        "post", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    message = await fake.wait_for_message(lambda m: m.via == "channel")
    await fake.wait_for(lambda: len(interaction.followups) == 1)
    attempts = [r for r in fake.requests if r.method == "POST" and re.search(path, r.path)]
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[1].time - attempts[0].time >= 0.1
    assert attempts[1].files[0].data == b"clip-bytes"  # the file was re-sent
    assert time.monotonic() - started < 5
    assert fake.channel_messages(CHANNEL_ID, include_ephemeral=False) == [message]


async def test_late_ack_is_unknown_interaction(fake: FakeDiscord, bot: TinyBot) -> None:
    fake.late_ack = True
    interaction = await fake.invoke(
        "secret", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    await fake.wait_for(lambda: bool(bot.errors))
    error = bot.errors.pop()
    assert isinstance(error, discord.NotFound) and error.code == 10062
    assert interaction.acknowledged_at is None and interaction.rejected_callbacks


async def test_modal_roundtrip(fake: FakeDiscord, bot: TinyBot) -> None:
    opened = await fake.invoke(
        "feedback", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=USER_ID
    )
    await opened.wait_acknowledged()
    assert opened.modal is not None and opened.modal["title"] == "Feedback"
    submitted = await fake.submit_modal(opened, {"feedback:text": "nice bot"})
    await submitted.wait_acknowledged()
    original: FakeMessage | None = submitted.original
    assert original is not None and original.content == "got nice bot" and original.ephemeral


async def test_unknown_route_is_404_and_bad_token_is_401(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.api_base}/nope") as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/json"
        async with session.get(
            f"{fake.api_base}/users/@me", headers={"Authorization": "Bot wrong"}
        ) as resp:
            assert resp.status == 401
        async with session.get(
            f"{fake.api_base}/users/@me", headers={"Authorization": f"Bot {fake.token}"}
        ) as resp:
            assert resp.status == 200
            assert (await resp.json())["id"] == str(fake.bot_user_id)


async def test_autocomplete_choices(fake: FakeDiscord, bot: TinyBot) -> None:
    interaction = await fake.autocomplete(
        "pick",
        [{"name": "model", "type": 3, "value": "dream", "focused": True}],
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=USER_ID,
    )
    await interaction.wait_acknowledged()
    assert interaction.choices is not None
    assert [c["value"] for c in interaction.choices] == ["dreamina-3.0", "dreamina-3.0-pro"]


async def test_discord_validation_errors(fake: FakeDiscord) -> None:
    auth = {"Authorization": f"Bot {fake.token}"}
    url = f"{fake.api_base}/channels/{CHANNEL_ID}/messages"
    async with aiohttp.ClientSession(headers=auth) as session:
        async with session.post(url, json={"content": "x" * 2001}) as resp:
            assert resp.status == 400
            body = await resp.json()
            assert body["code"] == 50035 and "content" in body["errors"]
        async with session.post(url, json={}) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 50006
        async with session.post(
            url, data=b"{not json", headers={"Content-Type": "application/json"}
        ) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 50109
        async with session.post(
            f"{fake.api_base}/channels/1/messages", json={"content": "x"}
        ) as resp:
            assert resp.status == 404 and (await resp.json())["code"] == 10003
    assert fake.channel_messages(CHANNEL_ID) == []
