"""WaveSpeed's completion callbacks, signed exactly as its "Verifying webhooks" page documents
(PROVIDERS.md, "Webhooks"):

- POST to the `?webhook=` URL given at submit, when the job completes or fails, with the
  result's fields as JSON;
- headers `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v3,<hex>`;
- the signature is HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{raw body}`, keyed with the
  secret after removing its `whsec_` prefix, used as text (not base64-decoded).

Written independently of the bot's verifier, so a mistake in one is not copied into the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from ._model import SimJob

log = logging.getLogger(__name__)

_TICK = 0.005  # real seconds between looks for ended jobs


@dataclass
class Delivery:
    """One callback: sent (with the listener's answer) or dropped by `drop_webhooks`."""

    job_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    sent_at: float
    """Simulated clock when it was sent (or dropped)."""
    status: int | None = None
    """The listener's HTTP status; None when dropped or when no answer came."""
    dropped: bool = False


def signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    key = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v3," + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, webhook_id: str, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, webhook_id, str(timestamp), body),
    }


class CallbackSender:
    """Watches the simulator's jobs and calls back each one that ended and asked for it."""

    def __init__(
        self,
        *,
        jobs: dict[str, SimJob],
        now: Callable[[], float],
        secret: Callable[[], str],
        body: Callable[[SimJob], dict[str, Any]],
        is_terminal: Callable[[SimJob, float], bool],
    ) -> None:
        self._jobs = jobs
        self._now = now
        self._secret = secret
        self._body = body
        self._is_terminal = is_terminal
        self.deliveries: list[Delivery] = []
        self.drop_next = 0
        self._done: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="sim-callbacks")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._sends) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _watch(self) -> None:
        scanned = 0
        waiting: list[SimJob] = []
        while True:
            if len(self._jobs) > scanned:  # jobs are only ever added, in order
                new = list(self._jobs.values())[scanned:]
                scanned += len(new)
                waiting += [job for job in new if job.webhook_url]
            now = self._now()
            for job in [j for j in waiting if self._is_terminal(j, now)]:
                waiting.remove(job)
                if job.id not in self._done:
                    self._done.add(job.id)
                    task = asyncio.get_running_loop().create_task(self._send(job, now))
                    self._sends.add(task)
                    task.add_done_callback(self._sends.discard)
            await asyncio.sleep(_TICK)

    async def _send(self, job: SimJob, now: float) -> None:
        assert job.webhook_url is not None
        body = json.dumps(self._body(job)).encode()
        headers = signed_headers(
            self._secret(), body, webhook_id=uuid.uuid4().hex, timestamp=int(time.time())
        )
        delivery = Delivery(job.id, job.webhook_url, headers, body, sent_at=now)
        self.deliveries.append(delivery)
        if self.drop_next > 0:
            self.drop_next -= 1
            delivery.dropped = True
            return
        assert self._session is not None
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with self._session.post(job.webhook_url, data=body, headers=headers) as answer:
                delivery.status = answer.status
