"""Building and running the Discord bot: the composition root's `run` path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

import discord
import httpx
import yarl
from rich.console import Console

from bot import cli
from bot.core.db import Database
from bot.core.jobs.runner import JobRunner, RunnerConfig
from bot.core.jobs.store import QuotaPolicy
from bot.core.settings import Settings
from bot.discord_layer.client import VideoBot
from bot.discord_layer.presenter import DiscordPresenter
from providers import Downloader, build_providers, new_download_client

log = logging.getLogger(__name__)

# View Channel, Send Messages, Embed Links, Attach Files, Read Message History.
INVITE_PERMISSIONS = 1024 | 2048 | 16384 | 32768 | 65536

NO_TOKEN_HELP = f"""\
DISCORD_TOKEN is not set, so the bot cannot start. To create a bot:
  1. Open https://discord.com/developers/applications, click "New Application", name it.
  2. Under "Bot", click "Reset Token" and put the token in .env as DISCORD_TOKEN=...
     No privileged intent is needed (leave Presence, Server Members and Message Content off).
  3. Invite it with the bot and applications.commands scopes and these permissions:
     View Channel, Send Messages, Embed Links, Attach Files, Read Message History:
     https://discord.com/oauth2/authorize?client_id=YOUR_APPLICATION_ID&scope=bot%20applications.commands&permissions={INVITE_PERMISSIONS}
     (YOUR_APPLICATION_ID is on the application's "General Information" page.)
  4. Optional: set DISCORD_GUILD_IDS=your_server_id for commands to appear at once.
Then run the same command again. `reelbot check` shows what else is missing."""


def point_discord_at(settings: Settings) -> None:
    """Testing only: aim discord.py at another API and gateway (both public class attributes)."""
    if settings.discord_api_base_url:
        discord.http.Route.BASE = settings.discord_api_base_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def provider_limits(settings: Settings) -> httpx.Limits:
    """Keep a connection open per job that polls at once. With httpx's default of 20 kept
    open, 500 polling jobs opened and closed a TCP connection per check and saturated a core
    (benchmarks/REPORT.md, bot_load)."""
    connections = max(100, 2 * settings.max_concurrent_jobs)
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections)


def runner_config(settings: Settings) -> RunnerConfig:
    return RunnerConfig(
        quota=QuotaPolicy(
            limit=settings.quota_limit,
            window_seconds=settings.quota_window_hours * 3600,
            max_in_flight=settings.max_jobs_per_member,
            cost_5s=settings.cost_5s,
            cost_10s=settings.cost_10s,
        ),
        max_concurrent_jobs=settings.max_concurrent_jobs,
        lease_seconds=settings.lease_seconds,
        cadence=settings.cadence(),
        learned=settings.learned_schedule(),
        deadline_seconds=settings.job_deadline_seconds,
    )


@contextlib.asynccontextmanager
async def build_bot(settings: Settings) -> AsyncIterator[VideoBot]:
    """Everything the bot needs, built once and closed in reverse order."""
    temp_dir = settings.work_dir / "tmp"
    await asyncio.to_thread(temp_dir.mkdir, parents=True, exist_ok=True)
    db = await asyncio.to_thread(Database.connect, settings.database_url)
    try:
        async with (
            httpx.AsyncClient(
                timeout=httpx.Timeout(settings.http_timeout_seconds, connect=10.0),
                follow_redirects=False,
                limits=provider_limits(settings),
            ) as client,
            new_download_client() as download_client,
        ):
            providers = build_providers(
                settings.provider_configs(),
                client=client,
                allow_loopback_urls=settings.allow_loopback_urls,
                retry=settings.retry_policy(),
            )
            presenter = DiscordPresenter(edit_interval=settings.status_edit_interval)
            runner = JobRunner(
                db=db,
                providers=providers,
                downloader=Downloader(
                    client=download_client,
                    max_bytes=settings.download_max_bytes,
                    directory=temp_dir,
                    allow_loopback_urls=settings.allow_loopback_urls,
                ),
                config=runner_config(settings),
                presenter=presenter,
                temp_dir=temp_dir,
            )
            bot = VideoBot(
                settings=settings,
                db=db,
                providers=providers,
                runner=runner,
                presenter=presenter,
            )
            async with bot:
                yield bot
    finally:
        await asyncio.to_thread(db.close)


async def serve(settings: Settings) -> int:
    assert settings.discord_token is not None  # noqa: S101 - checked by run_bot
    point_discord_at(settings)
    async with build_bot(settings) as bot:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        running = loop.create_task(bot.start(settings.discord_token.get_secret_value()))
        stopping = loop.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            log.info("stopping: no new work; saving state")
            await bot.close()
        stopping.cancel()
        try:
            await running
        except discord.LoginFailure:
            log.error("Discord refused the token: check DISCORD_TOKEN")
            return cli.EXIT_BAD_INPUT
        except discord.PrivilegedIntentsRequired:  # pragma: no cover - none are requested
            log.error("Discord refused the intents")
            return cli.EXIT_BAD_INPUT
    log.info("stopped cleanly")
    return cli.EXIT_OK


def run_bot(settings: Settings, console: Console) -> int:
    if settings.discord_token is None:
        console.print(NO_TOKEN_HELP)
        return cli.EXIT_BAD_INPUT
    if not settings.provider_configs():
        console.print("No provider is configured: set RUNCOMFY_API_KEY or WAVESPEED_API_KEY.")
        return cli.EXIT_BAD_INPUT
    return asyncio.run(serve(settings))
