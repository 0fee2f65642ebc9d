"""The optional side services of a running bot, started with it and stopped before it closes:
the metrics and health listener (`METRICS_LISTEN`), the WaveSpeed callback listener
(`WEBHOOK_PUBLIC_URL`) and the event-loop lag watch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from bot.core.db import Database
from bot.core.observability.health import Probes
from bot.core.observability.looplag import watch_loop_lag
from bot.core.observability.metrics import Metrics
from bot.core.observability.server import ObservabilityServer
from bot.core.settings import Settings
from bot.discord_layer.client import VideoBot
from bot.webhook_server import WebhookServer
from providers import ProviderName
from providers.wavespeed import WaveSpeed
from providers.webhooks import CALLBACK_PATH, Wakeups

log = logging.getLogger(__name__)


def webhook_urls(settings: Settings) -> dict[ProviderName, str]:
    """Callback URLs to hand to providers: WaveSpeed's, when WEBHOOK_PUBLIC_URL is set."""
    if settings.webhook_public_url is None or settings.wavespeed_api_key is None:
        return {}
    return {ProviderName.WAVESPEED: settings.webhook_public_url + CALLBACK_PATH}


def build_wakeups(settings: Settings, metrics: Metrics) -> Wakeups | None:
    urls = webhook_urls(settings)
    if not urls:
        return None
    return Wakeups(
        providers=frozenset(urls),
        cadence=settings.webhook_cadence(),
        on_notice=lambda provider, seconds: metrics.notice_seconds.labels(provider.value).observe(
            seconds
        ),
    )


def probes(bot: VideoBot) -> Probes:
    return Probes(
        discord_connected=lambda: bot.is_ready() and not bot.is_closed(),
        gateway_latencies=lambda: [(bot.shard_id or 0, bot.latency)],
        leases_renewed_at=lambda: bot.runner.leases_renewed_at,
        lease_seconds=bot.runner.config.lease_seconds,
    )


@contextlib.asynccontextmanager
async def side_services(
    *, settings: Settings, bot: VideoBot, db: Database, metrics: Metrics, wakeups: Wakeups | None
) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        lag = asyncio.get_running_loop().create_task(
            watch_loop_lag(metrics), name="reelbot-loop-lag"
        )
        lag.add_done_callback(_died)
        stack.callback(lag.cancel)
        if settings.metrics_listen is not None:
            server = ObservabilityServer(
                listen=settings.metrics_listen, metrics=metrics, db=db, probes=probes(bot)
            )
            await server.start()
            stack.push_async_callback(server.stop)
        wavespeed = bot.providers.get(ProviderName.WAVESPEED)
        if wakeups is not None and isinstance(wavespeed, WaveSpeed):
            webhooks = WebhookServer(
                listen=settings.webhook_listen,
                wakeups=wakeups,
                secret=wavespeed.webhook_secret,
                metrics=metrics,
            )
            await webhooks.start()
            stack.push_async_callback(webhooks.stop)
        yield


def _died(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s died", task.get_name(), exc_info=task.exception())
