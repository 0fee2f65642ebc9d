"""The security suite's world: the e2e harness's world with chosen secrets, an optional second
server, and helpers to forge clicks, run commands anywhere and record what the bot downloads.

Nothing here changes the bot: it is built by `bot.app.build_bot` exactly as in production, and
the only knob turned is discord.py's wait for further servers after READY (2 s by default),
which makes each world start in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.app import build_bot
from bot.core.jobs.models import Job, JobState
from bot.discord_layer.client import VideoBot
from providers.download import new_download_client
from tests.e2e.harness import (
    BASIC,
    BOT_TOKEN,
    CHANNEL,
    GUILD,
    IDENTIFY_WINDOW,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    PROVIDER_KEY,
    World,
    build_main_guild,
)
from tests.e2e.harness import test_settings as harness_settings
from tests.fakediscord import FakeDiscord, FakeInteraction, FakeMessage
from tests.providersim import JobScript, ProviderSim

# A second server, with its own channels and people.
GUILD2 = 8100
CHANNEL2 = 8200
APPROVAL2 = 8201
REVIEW2 = 8202
MEMBER2 = 9001
OTHER2 = 9002
ADMIN2 = 9004

GENERIC_APOLOGY = "Sorry, something went wrong"

ADMIN_OPTION_TYPES = {
    "channel": 7,
    "role": 8,
    "member": 6,
    "units": 4,
    "limit": 4,
    "max_duration": 4,
    "enabled": 5,
    "hours": 10,
    "rule": 4,
}


@dataclass
class SecureWorld(World):
    """The harness's World, logging the bot in with the token the fake Discord expects."""

    token: str = BOT_TOKEN

    async def start_bot(self, **overrides: Any) -> VideoBot:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        stack = contextlib.AsyncExitStack()
        bot = await stack.enter_async_context(build_bot(settings))
        # Test speed only: do not wait 2 s for servers that will never come.
        bot._connection.guild_ready_timeout = 0.3
        self._stack = stack
        self.bot = bot
        self._task = asyncio.get_running_loop().create_task(bot.start(self.token))
        await self.fake.wait_until_connected()
        await self.fake.wait_for(lambda: bot.is_ready(), timeout=10)
        return bot

    # --- driving anywhere -----------------------------------------------------------------

    async def video_as(
        self,
        user: int,
        options: list[dict[str, Any]],
        *,
        guild: int = GUILD,
        channel: int = CHANNEL,
    ) -> FakeInteraction:
        """/video with raw option objects, as any client could send them."""
        return await self.fake.invoke(
            "video", options, guild_id=guild, channel_id=channel, user_id=user
        )

    async def command(
        self,
        *path: str,
        user: int,
        in_guild: int = GUILD,
        in_channel: int = CHANNEL,
        **options: Any,
    ) -> FakeInteraction:
        """/reelbot <path...> in any server, returning the interaction."""
        opts = [
            {"name": k, "type": ADMIN_OPTION_TYPES.get(k, 3), "value": v}
            for k, v in options.items()
        ]
        return await self.fake.invoke(
            "reelbot",
            opts,
            guild_id=in_guild,
            channel_id=in_channel,
            user_id=user,
            subcommand=list(path),
        )

    async def answer(self, interaction: FakeInteraction, timeout: float = 10.0) -> str:
        """The final ephemeral text or embeds an interaction got (whatever its kind)."""

        def answered() -> bool:
            original = interaction.original
            return (
                original is not None
                and not original.loading
                and bool(original.content or original.embeds)
            )

        await self.fake.wait_for(answered, timeout=timeout)
        assert interaction.original is not None
        assert interaction.original.ephemeral, "an answer to one member must be ephemeral"
        return interaction.original.content or json.dumps(interaction.original.embeds)

    def jobs_of(self, user: int) -> list[Job]:
        return [j for j in self.jobs() if j.user_id == user]

    async def wait_final(self, job_id: str, timeout: float = 15.0) -> Job:
        def final() -> bool:
            return any(j.id == job_id and j.state.is_final for j in self.jobs())

        await self.fake.wait_for(final, timeout=timeout, what=f"job {job_id} to finish")
        return next(j for j in self.jobs() if j.id == job_id)

    async def wait_state(self, job_id: str, *states: JobState, timeout: float = 15.0) -> Job:
        def reached() -> bool:
            return any(j.id == job_id and j.state in states for j in self.jobs())

        await self.fake.wait_for(reached, timeout=timeout, what=f"job {job_id} in {states}")
        return next(j for j in self.jobs() if j.id == job_id)


def build_second_guild(fake: FakeDiscord) -> None:
    guild = fake.add_guild(GUILD2, name="Elsewhere")
    guild.add_channel(CHANNEL2, name="clips")
    guild.add_channel(APPROVAL2, name="needs-approval")
    guild.add_channel(REVIEW2, name="mod-review")
    guild.add_member(MEMBER2, name="member2")
    guild.add_member(OTHER2, name="other2")
    guild.add_member(9003, name="mod2", permissions=MANAGE_MESSAGES | BASIC)
    guild.add_member(ADMIN2, name="admin2", permissions=MANAGE_GUILD | MANAGE_MESSAGES | BASIC)


@contextlib.asynccontextmanager
async def secure_world(
    tmp: Path,
    *,
    token: str = BOT_TOKEN,
    runcomfy_key: str = PROVIDER_KEY,
    wavespeed_key: str = PROVIDER_KEY,
    second_guild: bool = False,
    **extra: Any,
) -> AsyncIterator[SecureWorld]:
    """`tests.e2e.harness.world` with these secrets (the fake Discord and both simulators
    expect them) and, optionally, a second server the bot is in."""
    async with (
        FakeDiscord(token=token, identify_window=IDENTIFY_WINDOW) as fake,
        ProviderSim("runcomfy", api_key=runcomfy_key, time_scale=100.0) as runcomfy,
        ProviderSim("wavespeed", api_key=wavespeed_key, time_scale=100.0) as wavespeed,
    ):
        build_main_guild(fake)
        guild_ids = str(GUILD)
        if second_guild:
            build_second_guild(fake)
            guild_ids = f"{GUILD},{GUILD2}"
        runcomfy.default_script = JobScript(queue_seconds=5, queue_positions=[2, 1], run_seconds=20)
        wavespeed.default_script = JobScript(queue_seconds=5, run_seconds=20)
        values: dict[str, Any] = {
            "discord_token": token,
            "runcomfy_api_key": runcomfy_key,
            "wavespeed_api_key": wavespeed_key,
            "discord_guild_ids": guild_ids,
            **extra,
        }
        settings = harness_settings(tmp, fake, runcomfy, wavespeed, **values)
        w = SecureWorld(fake, runcomfy, wavespeed, settings, tmp, token=token)
        with fake.patch_discord():
            try:
                yield w
            finally:
                await w.stop_bot()


# --- forged clicks -------------------------------------------------------------------------


def forged(message: FakeMessage, custom_id: str) -> FakeMessage:
    """`message` as a modified client would present it: the same message id, but carrying a
    button whose custom_id the attacker chose."""
    components = [
        {"type": 1, "components": [{"type": 2, "style": 2, "label": "x", "custom_id": custom_id}]}
    ]
    return dataclasses.replace(message, components=copy.deepcopy(components))


async def click_forged(
    w: SecureWorld, message: FakeMessage, custom_id: str, *, user: int
) -> FakeInteraction:
    return await w.fake.click(forged(message, custom_id), custom_id, user_id=user)


# --- pings ---------------------------------------------------------------------------------


def all_messages(fake: FakeDiscord) -> list[FakeMessage]:
    """Every message the bot created anywhere, deleted ones included."""
    return list(fake.messages.values())


def ping_violations(fake: FakeDiscord, *, results: dict[int, int]) -> list[str]:
    """Messages that would ping someone they should not. `results` maps a result message id to
    its requester, the one person that message may ping."""
    problems: list[str] = []
    for message in all_messages(fake):
        allowed = {results[message.id]} if message.id in results else set()
        if message.mention_everyone:
            problems.append(f"{message!r} pings @everyone/@here")
        if message.mentioned_role_ids:
            problems.append(f"{message!r} pings roles {message.mentioned_role_ids}")
        extra = set(message.mentioned_user_ids) - allowed
        if extra:
            problems.append(f"{message!r} pings users {sorted(extra)}")
    return problems


# --- markdown ------------------------------------------------------------------------------

# Spans Discord shows literally (its autolink rules, mirrored by discord.py's escape helper).
_LITERAL_SPANS = re.compile(
    r"<[^: >]+:/[^ >]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]",
)
_SPECIALS = "*_~|`"


def unescaped_markdown(text: str) -> list[str]:
    """Markdown control sequences in `text` that are not neutralised by a backslash."""
    text = _LITERAL_SPANS.sub(" ", text)
    found: list[str] = []
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
            continue
        if char == "\\":
            escaped = True
            continue
        if char in _SPECIALS:
            found.append(f"{char!r} at {index}")
        if char == "[" and re.match(r"\[[^\]]*\]\(", text[index:]):
            found.append(f"masked link at {index}")
    for line in text.split("\n"):
        if re.match(r"^(#{1,3}|-#)\s|^>{1,3}\s|^\s*[-*]\s", line):
            found.append(f"block markup in line {line!r}")
    return found


# --- recording what the bot downloads ------------------------------------------------------


class DownloadLog:
    """Every request the bot's download client sends (installed with `install`)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def _record(self, request: httpx.Request) -> None:
        self.urls.append(str(request.url))

    def client(self) -> httpx.AsyncClient:
        """The bot's own download client (`providers.download.new_download_client`), with
        every request it sends recorded."""
        client = new_download_client()
        hooks = client.event_hooks
        client.event_hooks = {**hooks, "request": [*hooks.get("request", []), self._record]}
        return client


# --- a tiny loopback web server (redirectors, targets) -------------------------------------


@dataclass
class Hit:
    path: str
    headers: dict[str, str]


class LoopbackServer:
    """An aiohttp server on 127.0.0.1: `redirect(path, to)` answers 302, anything else 404
    (or `serve`d bytes). Every request is recorded in `hits`."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._redirects: dict[str, str] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def redirect(self, path: str, to: str, *, status: int = 302) -> str:
        self._redirects[path] = f"{status} {to}"
        return self.base_url + path

    def serve(self, path: str, data: bytes, content_type: str = "video/mp4") -> str:
        self._files[path] = (data, content_type)
        return self.base_url + path

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(Hit(request.path, dict(request.headers)))
        target = self._redirects.get(request.path)
        if target is not None:
            status, location = target.split(" ", 1)
            return web.Response(status=int(status), headers={"Location": location})
        served = self._files.get(request.path)
        if served is not None:
            return web.Response(body=served[0], headers={"Content-Type": served[1]})
        return web.Response(status=404)

    async def __aenter__(self) -> LoopbackServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
