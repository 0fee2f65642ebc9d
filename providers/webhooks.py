"""WaveSpeed completion callbacks: verifying them, dropping replays, waking the job's owner.

Verification follows WaveSpeed's "Verifying webhooks" (PROVIDERS.md, "Webhooks"): headers
`webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v3,<hex>`; the
signature is HMAC-SHA256 over `{id}.{timestamp}.{raw body}` keyed with the secret minus its
`whsec_` prefix, used as text and *not* base64-decoded (so Standard Webhooks verifiers do not
fit). Timestamps older than 300 s are refused.

A callback never decides an outcome: a verified one only wakes the task that polls the job, which
then asks the provider itself. Polling goes on as a slower safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from providers.models import ProviderName
from providers.polling import Cadence, PollCadence

MAX_AGE_SECONDS = 300.0
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
SIGNATURE_VERSION = "v3"
CALLBACK_PATH = "/webhooks/wavespeed"


class WebhookRefused(Exception):
    """A callback that is not acted upon. `reason` is safe to log (no secret, no body)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def signing_key(secret: SecretStr) -> bytes:
    """The HMAC key: the secret's text after `whsec_`, not base64-decoded."""
    return secret.get_secret_value().removeprefix(SECRET_PREFIX).encode()


def sign(*, secret: SecretStr, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The `webhook-signature` header value for a callback."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION},{digest}"


@dataclass(frozen=True, slots=True)
class Callback:
    """A verified callback: who sent it (`webhook_id`) and which provider job it names."""

    webhook_id: str
    job_id: str
    status: str


def verify(
    *,
    headers: Mapping[str, str],
    body: bytes,
    secret: SecretStr,
    now: float | None = None,
    max_age: float = MAX_AGE_SECONDS,
) -> Callback:
    """Check a callback's signature and age; raise WebhookRefused otherwise.

    `headers` must be case-insensitive (aiohttp's are) or lower-cased."""
    webhook_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signature = headers.get("webhook-signature")
    if not webhook_id or not timestamp or not signature:
        raise WebhookRefused("unsigned: a webhook-id, -timestamp or -signature header is missing")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookRefused("the webhook-timestamp is not Unix seconds") from None
    current = time.time() if now is None else now
    if current - sent > max_age:
        raise WebhookRefused(f"stale: sent {current - sent:.0f} s ago (over {max_age:.0f} s)")
    if sent - current > max_age:
        raise WebhookRefused("the webhook-timestamp is in the future")
    expected = sign(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
    # Several space-separated signatures may be sent (secret rotation): any one may match.
    if not any(hmac.compare_digest(expected, given) for given in signature.split()):
        raise WebhookRefused("bad signature")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON") from None
    job_id = payload.get("id") if isinstance(payload, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise WebhookRefused("the body names no job id")
    status = payload.get("status")
    return Callback(
        webhook_id=webhook_id, job_id=job_id, status=status if isinstance(status, str) else ""
    )


class ReplayGuard:
    """Remembers webhook ids seen in the last `window` seconds (bounded), to drop duplicates.

    Older ids need not be kept: their timestamps are refused as stale anyway."""

    def __init__(self, *, window: float = 2 * MAX_AGE_SECONDS, limit: int = 100_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._window = window
        self._limit = limit

    def first_time(self, webhook_id: str, *, now: float | None = None) -> bool:
        """True the first time an id is seen; it is remembered from then on."""
        current = time.monotonic() if now is None else now
        while self._seen:
            oldest, when = next(iter(self._seen.items()))
            if current - when <= self._window and len(self._seen) < self._limit:
                break
            del self._seen[oldest]
        if webhook_id in self._seen:
            return False
        self._seen[webhook_id] = current
        return True


class Wakeups:
    """Which jobs this process is polling, and how to wake them when their callback comes.

    `cadence` is the slower safety-net polling used while callbacks are expected.
    `on_notice(provider, seconds)` hears, when a woken job's wait ends, how long after its
    callback that was."""

    def __init__(
        self,
        *,
        providers: frozenset[ProviderName],
        cadence: PollCadence,
        on_notice: Callable[[ProviderName, float], None] | None = None,
    ) -> None:
        self.providers = providers
        self.cadence = cadence
        self._on_notice = on_notice
        self._events: dict[tuple[ProviderName, str], asyncio.Event] = {}
        self._woken_at: dict[tuple[ProviderName, str], float] = {}

    def covers(self, provider: ProviderName) -> bool:
        return provider in self.providers

    @contextlib.contextmanager
    def watch(self, provider: ProviderName, job_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever a verified callback names this job, while the block runs."""
        key = (provider, job_id)
        event = self._events.setdefault(key, asyncio.Event())
        try:
            yield event
            woken = self._woken_at.get(key)
            if woken is not None and self._on_notice is not None:
                self._on_notice(provider, time.monotonic() - woken)
        finally:
            if self._events.get(key) is event:
                del self._events[key]
                self._woken_at.pop(key, None)

    def wake(self, provider: ProviderName, job_id: str) -> bool:
        """Wake the job's poller; False when no job of that id is polled here."""
        event = self._events.get((provider, job_id))
        if event is None:
            return False
        self._woken_at.setdefault((provider, job_id), time.monotonic())
        event.set()
        return True


def watched(
    wakeups: Wakeups | None, provider: ProviderName, job_id: str, *, default: Cadence
) -> contextlib.AbstractContextManager[tuple[Cadence, asyncio.Event | None]]:
    """What the job's poller should use: (cadence, wake event). Without callbacks for this
    provider: the default cadence and no event."""
    if wakeups is None or not wakeups.covers(provider):
        return contextlib.nullcontext((default, None))
    return _watching(wakeups, provider, job_id)


@contextlib.contextmanager
def _watching(
    wakeups: Wakeups, provider: ProviderName, job_id: str
) -> Iterator[tuple[Cadence, asyncio.Event | None]]:
    with wakeups.watch(provider, job_id) as event:
        yield wakeups.cadence, event
