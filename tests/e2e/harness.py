"""An end-to-end world: the real bot (real discord.py client) against the loopback fake
Discord and both provider simulators, with a SQLite file in a temp dir (or a fresh PostgreSQL
database: see `tests/testdb.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from PIL import Image
from sqlmodel import Session, col, select

from bot.app import build_bot
from bot.core.jobs.models import Job, JobState, LedgerEntry
from bot.core.settings import Settings, load_settings
from bot.discord_layer.client import VideoBot
from tests.fakediscord import FakeDiscord, FakeInteraction, FakeMessage
from tests.providersim import JobScript, ProviderSim
from tests.testdb import database_url

GUILD = 4100
CHANNEL = 4200
OTHER_CHANNEL = 4201
MEMBER = 5001
OTHER_MEMBER = 5002
MODERATOR = 5003
ADMIN = 5004
ROLE = 4300
OTHER_ROLE = 4301
REVIEW_CHANNEL = 4202
NSFW_CHANNEL = 4203
AUDIT_CHANNEL = 4204
THREAD = 4210  # a thread of CHANNEL
FORUM = 4211
FORUM_POST = 4212  # a post (thread) of FORUM
VOICE = 4213
PROVIDER_KEY = "e2e-provider-key-51c0"
BOT_TOKEN = "e2e-bot-token-2d9e"
MANAGE_MESSAGES = 1 << 13
MANAGE_GUILD = 1 << 5
BASIC = (1 << 10) | (1 << 11)  # view channel, send messages
# Discord allows one IDENTIFY per shard bucket per 5 s; shortened so that a bot restarted
# at once in a test is not made to wait 5 s (the rule itself: fakediscord_selftest).
IDENTIFY_WINDOW = 0.1


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 80, 140)).save(buffer, "JPEG")
    return buffer.getvalue()


@dataclass
class World:
    fake: FakeDiscord
    runcomfy: ProviderSim
    wavespeed: ProviderSim
    settings: Settings
    tmp: Path
    bot: VideoBot | None = None
    _task: asyncio.Task[None] | None = None
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    # --- bot life cycle -------------------------------------------------------------------

    async def start_bot(self, **overrides: Any) -> VideoBot:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        stack = contextlib.AsyncExitStack()
        bot = await stack.enter_async_context(build_bot(settings))
        self._stack = stack
        self.bot = bot
        self._task = asyncio.get_running_loop().create_task(bot.start(BOT_TOKEN))
        await self.fake.wait_until_connected()
        await self.fake.wait_for(lambda: bot.is_ready(), timeout=10)
        return bot

    async def stop_bot(self) -> None:
        """A clean stop: leases released, clients closed."""
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._stack.aclose()
        self.bot = None
        self._task = None

    def deny_bot(self, channel: int, **permissions: bool) -> None:
        """A permission overwrite on ``channel`` taking these permissions from the bot."""
        deny = discord.Permissions(**permissions).value
        self.fake.guilds[GUILD].set_overwrite(
            channel, self.fake.bot_user_id, deny=deny, member=True
        )

    # --- driving --------------------------------------------------------------------------

    async def video(
        self, prompt: str, *, user: int = MEMBER, channel: int = CHANNEL, **options: Any
    ) -> FakeInteraction:
        opts = [{"name": "prompt", "type": 3, "value": prompt}]
        types = {"provider": 3, "aspect_ratio": 3, "duration": 4, "resolution": 3, "seed": 4}
        opts += [{"name": k, "type": types[k], "value": v} for k, v in options.items()]
        return await self.fake.invoke(
            "video", opts, guild_id=GUILD, channel_id=channel, user_id=user
        )

    async def animate(
        self,
        image: bytes,
        prompt: str = "make it move",
        *,
        filename: str = "photo.png",
        content_type: str | None = "image/png",
        user: int = MEMBER,
        channel: int = CHANNEL,
        **options: Any,
    ) -> FakeInteraction:
        attachment = self.fake.add_attachment(image, filename=filename, content_type=content_type)
        opts: list[dict[str, Any]] = [
            {"name": "image", "type": 11, "value": attachment["id"]},
            {"name": "prompt", "type": 3, "value": prompt},
        ]
        types = {"provider": 3, "duration": 4, "resolution": 3, "seed": 4}
        opts += [{"name": k, "type": types[k], "value": v} for k, v in options.items()]
        return await self.fake.invoke(
            "animate",
            opts,
            guild_id=GUILD,
            channel_id=channel,
            user_id=user,
            attachments=[attachment],
        )

    async def admin(self, *path: str, user: int = ADMIN, **options: Any) -> str:
        """Run /reelbot <path...> with options; return the ephemeral answer's text (or embeds)."""
        types = {
            "channel": 7,
            "role": 8,
            "member": 6,
            "units": 4,
            "limit": 4,
            "max_duration": 4,
            "enabled": 5,
            "hours": 10,
            "rule": 4,
            "refund": 5,
        }
        opts = [{"name": k, "type": types.get(k, 3), "value": v} for k, v in options.items()]
        interaction = await self.fake.invoke(
            "reelbot", opts, guild_id=GUILD, channel_id=CHANNEL, user_id=user, subcommand=list(path)
        )
        await self.fake.wait_for(
            lambda: (
                interaction.original is not None
                and not interaction.original.loading
                and bool(interaction.original.content or interaction.original.embeds)
            ),
            timeout=10,
        )
        assert interaction.original is not None and interaction.original.ephemeral
        return interaction.original.content or str(interaction.original.embeds)

    async def reply(self, interaction: FakeInteraction, timeout: float = 10.0) -> str:
        """The ephemeral text the member finally sees for an interaction."""

        def answered() -> bool:
            original = interaction.original
            return original is not None and not original.loading and bool(original.content)

        await self.fake.wait_for(answered, timeout=timeout)
        assert interaction.original is not None
        assert interaction.original.ephemeral
        return interaction.original.content or ""

    def channel_posts(self, channel: int = CHANNEL) -> list[FakeMessage]:
        return [m for m in self.fake.channel_messages(channel) if m.via == "channel"]

    def statuses(self, title: str = "", channel: int = CHANNEL) -> list[FakeMessage]:
        """Status messages (their embed titles are "Text to video" / "Image to video")."""
        return [
            m
            for m in self.channel_posts(channel)
            if m.embeds
            and m.embeds[0].get("title", "").endswith("to video")
            and title in m.embeds[0]["title"]
        ]

    def results(self, channel: int = CHANNEL) -> list[FakeMessage]:
        return [
            m
            for m in self.channel_posts(channel)
            if any(c.startswith("reelbot:reroll:") for c in m.custom_ids())
        ]

    async def wait_for_results(self, count: int, timeout: float = 15.0) -> list[FakeMessage]:
        await self.fake.wait_for(lambda: len(self.results()) >= count, timeout=timeout)
        return self.results()

    # --- the database, read directly --------------------------------------------------------

    def jobs(self) -> list[Job]:
        assert self.bot is not None
        with Session(self.bot.db.engine) as session:
            return list(session.exec(select(Job).order_by(col(Job.created_at))).all())

    def ledger(self) -> list[LedgerEntry]:
        assert self.bot is not None
        with Session(self.bot.db.engine) as session:
            return list(session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id))).all())

    def charged(self, user: int = MEMBER) -> int:
        return sum(e.amount for e in self.ledger() if e.user_id == user)

    async def wait_for_state(
        self, *states: JobState, count: int = 1, timeout: float = 15.0
    ) -> list[Job]:
        await self.fake.wait_for(
            lambda: sum(1 for j in self.jobs() if j.state in states) >= count, timeout=timeout
        )
        return [j for j in self.jobs() if j.state in states]

    async def queue_an_image_job_behind_a_long_one(self) -> None:
        """One provider slot: a long text job runs while an image job waits in our queue."""
        self.runcomfy.script(JobScript(run_seconds=300), JobScript(run_seconds=5))
        await self.reply(await self.video("a long one", provider="runcomfy"))
        await self.wait_for_state(JobState.SUBMITTED, JobState.RUNNING)
        await self.reply(await self.animate(jpeg(640, 480), provider="runcomfy"))
        await self.wait_for_state(JobState.ACCEPTED)


def test_settings(
    tmp: Path, fake: FakeDiscord, runcomfy: ProviderSim, wavespeed: ProviderSim, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "discord_token": BOT_TOKEN,
        "discord_guild_ids": str(GUILD),
        "discord_api_base_url": fake.api_base,
        "discord_gateway_url": fake.gateway_url,
        "runcomfy_api_key": PROVIDER_KEY,
        "wavespeed_api_key": PROVIDER_KEY,
        "runcomfy_base_url": runcomfy.base_url,
        "wavespeed_base_url": wavespeed.base_url,
        "allow_loopback_urls": True,
        "database_url": database_url(tmp / "reelbot.db"),
        "work_dir": str(tmp / "work"),
        "poll_first_delay": 0.05,
        "poll_warmup": 0,
        "poll_interval": 0.05,
        "poll_queue_seconds_per_position": 0.02,
        "poll_max_interval": 0.2,
        "status_edit_interval": 0.2,
        "lease_seconds": 3,
        "quota_limit": 5,
        "max_jobs_per_member": 2,
        "max_concurrent_jobs": 2,
    }
    values.update(extra)
    return load_settings(_env_file=None, **values)


def build_main_guild(fake: FakeDiscord) -> None:
    """The test server: its channels, roles and members."""
    guild = fake.add_guild(GUILD)
    guild.add_channel(CHANNEL, name="videos")
    guild.add_channel(OTHER_CHANNEL, name="other")
    guild.add_channel(REVIEW_CHANNEL, name="review")
    guild.add_channel(NSFW_CHANNEL, name="after-dark", nsfw=True)
    guild.add_channel(AUDIT_CHANNEL, name="audit")
    guild.add_thread(THREAD, parent_id=CHANNEL, name="a thread")
    guild.add_channel(FORUM, name="showcase", type=15)
    guild.add_thread(FORUM_POST, parent_id=FORUM, name="a forum post")
    guild.add_channel(VOICE, name="lounge", type=2)
    guild.add_role(ROLE, name="Artists")
    guild.add_role(OTHER_ROLE, name="Patrons")
    guild.add_member(MEMBER, name="member", roles=[ROLE])
    guild.add_member(OTHER_MEMBER, name="other")
    guild.add_member(MODERATOR, name="mod", permissions=MANAGE_MESSAGES | BASIC)
    guild.add_member(ADMIN, name="admin", permissions=MANAGE_GUILD | MANAGE_MESSAGES | BASIC)


@contextlib.asynccontextmanager
async def world(tmp: Path, **extra: Any) -> AsyncIterator[World]:
    async with (
        FakeDiscord(token=BOT_TOKEN, identify_window=IDENTIFY_WINDOW) as fake,
        ProviderSim("runcomfy", api_key=PROVIDER_KEY, time_scale=100.0) as runcomfy,
        ProviderSim("wavespeed", api_key=PROVIDER_KEY, time_scale=100.0) as wavespeed,
    ):
        build_main_guild(fake)
        runcomfy.default_script = JobScript(queue_seconds=5, queue_positions=[2, 1], run_seconds=20)
        wavespeed.default_script = JobScript(queue_seconds=5, run_seconds=20)
        w = World(
            fake, runcomfy, wavespeed, test_settings(tmp, fake, runcomfy, wavespeed, **extra), tmp
        )
        with fake.patch_discord():
            try:
                yield w
            finally:
                await w.stop_bot()
