"""The WaveSpeed callback listener (`WEBHOOK_LISTEN`, reached at `WEBHOOK_PUBLIC_URL`).

A verified callback only wakes the poller of the job it names, which then asks WaveSpeed
itself: a callback never decides an outcome. Refused callbacks (unsigned, badly signed, stale,
replayed, or naming a job this process is not polling) are logged without the body or any
secret, and change nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import SecretStr

from bot.core.listener import Listener
from bot.core.observability.metrics import Metrics
from providers import ProviderError, ProviderName
from providers.webhooks import CALLBACK_PATH, ReplayGuard, Wakeups, WebhookRefused, verify

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024

SecretSource = Callable[[], Awaitable[SecretStr]]


class WebhookServer:
    def __init__(
        self,
        *,
        listen: str,
        wakeups: Wakeups,
        secret: SecretSource,
        metrics: Metrics,
    ) -> None:
        self._wakeups = wakeups
        self._fetch_secret = secret
        self._secret: SecretStr | None = None
        self._secret_lock = asyncio.Lock()
        self._replays = ReplayGuard()
        self._metrics = metrics
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(CALLBACK_PATH, self._callback)
        self.listener = Listener(app, listen=listen, name="webhooks")

    async def start(self) -> None:
        await self._load_secret()  # a failure is logged; the first callback tries again
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()

    async def _load_secret(self) -> SecretStr | None:
        async with self._secret_lock:
            if self._secret is None:
                try:
                    self._secret = await self._fetch_secret()
                except ProviderError as error:
                    log.warning("webhooks: could not get the signing secret: %s", error.summary)
            return self._secret

    def _refuse(self, status: int, reason: str, result: str) -> web.Response:
        log.warning("webhooks: refused a callback: %s", reason)
        self._metrics.webhooks.labels(result).inc()
        return web.Response(status=status, text=reason)

    async def _callback(self, request: web.Request) -> web.Response:
        body = await request.read()
        secret = await self._load_secret()
        if secret is None:
            return self._refuse(503, "no signing secret yet", "no_secret")
        try:
            callback = verify(headers=request.headers, body=body, secret=secret)
        except WebhookRefused as refused:
            return self._refuse(401, refused.reason, "refused")
        if not self._replays.first_time(callback.webhook_id):
            return self._refuse(200, f"replayed webhook-id {callback.webhook_id}", "replayed")
        if not self._wakeups.wake(ProviderName.WAVESPEED, callback.job_id):
            return self._refuse(404, f"no job {callback.job_id} is polled here", "unknown_job")
        log.info("wavespeed job %s: callback (%s); checking now", callback.job_id, callback.status)
        self._metrics.webhooks.labels("accepted").inc()
        return web.Response(status=204)
