"""Building and running the Discord bot: the composition root's `run` path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import httpx
import yarl
from rich.console import Console

from bot import cli
from bot.core.db import Database
from bot.core.extend import ChainJoiner
from bot.core.jobs.contracts import RunnerConfig
from bot.core.jobs.fitting import ResultFitter
from bot.core.jobs.runner import JobRunner
from bot.core.lookups import Lookups
from bot.core.observability.metrics import Metrics
from bot.core.observability.provider_http import MeteredTransport, provider_hosts
from bot.core.quotas import QuotaPolicy
from bot.core.settings import Settings
from bot.core.video import VideoTools, VideoWorker
from bot.discord_layer.actions import Actions
from bot.discord_layer.audit_channel import AuditForwarder
from bot.discord_layer.chain_posts import ChainPosts
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.client import VideoBot
from bot.discord_layer.extend import Extender
from bot.discord_layer.presenter import DiscordPresenter
from bot.discord_layer.rate_limits import rate_limit_trace
from bot.discord_layer.review import Review
from bot.discord_layer.review_messages import ReviewMessages
from bot.discord_layer.status_post import StatusPoster
from bot.services import build_wakeups, side_services, webhook_urls
from providers import Downloader, Provider, ProviderName, build_providers, new_download_client
from providers.connections import ProviderClient, provider_transport
from providers.webhooks import Wakeups

log = logging.getLogger(__name__)

# The longest one piece of video work (a last frame, a join) may take before it is stopped.

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


def metered_transport(settings: Settings, metrics: Metrics) -> MeteredTransport:
    """The provider client's transport: requests counted per provider, then, for each provider,
    let through no more at once than PROVIDER_MAX_CONNECTIONS, on as many connections of its own,
    sent by aiohttp's client under httpx (providers/connections.py: what a request costs does
    not grow with the connections open, and a slow provider never holds the places another
    provider's checks need)."""
    bases = {name.value: config.base_url for name, config in settings.provider_configs().items()}
    hosts = provider_hosts(bases)
    return MeteredTransport(
        provider_transport(list(hosts), connections=settings.provider_max_connections),
        metrics=metrics,
        hosts=hosts,
    )


def provider_client(settings: Settings, metrics: Metrics) -> ProviderClient:
    """The one client for the providers' APIs (downloads have their own)."""
    return ProviderClient(
        timeout=httpx.Timeout(settings.http_timeout_seconds, connect=10.0),
        follow_redirects=False,
        transport=metered_transport(settings, metrics),
    )


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


def assemble(
    settings: Settings,
    *,
    db: Database,
    providers: dict[ProviderName, Provider],
    downloader: Downloader,
    temp_dir: Path,
    tools: VideoTools,
    wakeups: Wakeups | None = None,
    metrics: Metrics | None = None,
) -> VideoBot:
    """Build every collaborator with explicit arguments, then the bot that receives them.
    The channel getter is handed out first and backed by the client once it exists."""
    channels = ChannelGetter()
    config = runner_config(settings)
    lookups = Lookups(db=db, quota=config.quota)
    review_messages = ReviewMessages(channels=channels, lookups=lookups)
    presenter = DiscordPresenter(
        channels=channels,
        lookups=lookups,
        review=review_messages,
        edit_interval=settings.status_edit_interval,
    )
    chain_posts = ChainPosts(channels=channels, presenter=presenter, downloader=downloader)
    runner = JobRunner(
        db=db,
        providers=providers,
        downloader=downloader,
        config=config,
        presenter=presenter,
        temp_dir=temp_dir,
        wakeups=wakeups,
        metrics=metrics,
        fitter=ResultFitter(tools=tools),
        after_delivery=ChainJoiner(db=db, tools=tools, poster=chain_posts, directory=temp_dir),
    )
    status = StatusPoster(channels=channels, presenter=presenter)
    provider_order = [n for n in settings.provider_order() if n in providers]
    actions = Actions(
        runner=runner,
        db=db,
        lookups=lookups,
        providers=providers,
        provider_order=provider_order,
        status=status,
        review=review_messages,
        channels=channels,
    )
    bot = VideoBot(
        settings=settings,
        db=db,
        providers=providers,
        provider_order=provider_order,
        runner=runner,
        lookups=lookups,
        presenter=presenter,
        actions=actions,
        review=Review(
            runner=runner,
            lookups=lookups,
            messages=review_messages,
            status=status,
            channels=channels,
        ),
        audit=AuditForwarder(db=db, lookups=lookups, channels=channels),
        extend=Extender(
            actions=actions,
            lookups=lookups,
            providers=providers,
            provider_order=provider_order,
            tools=tools,
            posts=chain_posts,
            max_seconds=settings.extend_max_seconds,
        ),
        http_trace=rate_limit_trace(metrics) if metrics is not None else None,
    )
    channels.attach(bot)  # the collaborators reach Discord through it from now on
    return bot


@contextlib.asynccontextmanager
async def build_bot(settings: Settings) -> AsyncIterator[VideoBot]:
    """Everything the bot needs, built once and closed in reverse order."""
    temp_dir = settings.work_dir / "tmp"
    await asyncio.to_thread(temp_dir.mkdir, parents=True, exist_ok=True)
    db = await asyncio.to_thread(Database.connect, settings.database_url)
    metrics = Metrics()
    wakeups = build_wakeups(settings, metrics)
    try:
        async with (
            provider_client(settings, metrics) as client,
            new_download_client() as download_client,
        ):
            providers = build_providers(
                settings.provider_configs(),
                client=client,
                allow_loopback_urls=settings.allow_loopback_urls,
                retry=settings.retry_policy(),
                webhook_urls=webhook_urls(settings),
            )
            downloader = Downloader(
                client=download_client,
                max_bytes=settings.download_max_bytes,
                directory=temp_dir,
                allow_loopback_urls=settings.allow_loopback_urls,
            )
            # Video work (re-encodes, joins) writes next to the downloads, named after its job,
            # so the temporary-file sweep also removes what a killed process left.
            tools = VideoTools(
                worker=VideoWorker(timeout=settings.video_timeout_seconds), directory=temp_dir
            )
            bot = assemble(
                settings,
                db=db,
                providers=providers,
                downloader=downloader,
                temp_dir=temp_dir,
                tools=tools,
                wakeups=wakeups,
                metrics=metrics,
            )
            try:
                async with (
                    bot,
                    side_services(
                        settings=settings, bot=bot, db=db, metrics=metrics, wakeups=wakeups
                    ),
                ):
                    yield bot
            finally:
                await tools.aclose()  # after the bot: no job is waiting on it any more
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
