"""Counting provider API requests and their failures, as an httpx transport around the real one.

Only the provider's name (by host), the kind of request and the kind of failure become labels:
never a path (it carries job ids) or a header (it carries the key)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from bot.core.observability.metrics import Metrics


def error_kind(status: int) -> str | None:
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status >= 500:
        return "server"
    if status >= 400:
        return "refused"
    return None


def request_kind(method: str, path: str) -> str:
    """submit, status (status and result checks), cancel, or other (the webhook secret)."""
    if path.endswith("/cancel"):
        return "cancel"
    if "/webhook/" in path:
        return "other"
    return "status" if method == "GET" else "submit"


class MeteredTransport(httpx.AsyncBaseTransport):
    """Counts every request to a known provider host: submits (POST), status checks (GET), and
    failures by kind (HTTP status class, or `network` when no answer came)."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, metrics: Metrics, hosts: Mapping[str, str]
    ) -> None:
        self._inner = inner
        self._metrics = metrics
        self._hosts = {host.lower(): name for host, name in hosts.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        provider = self._hosts.get(request.url.netloc.decode("ascii").lower())
        if provider is None:
            return await self._inner.handle_async_request(request)
        kind = request_kind(request.method, request.url.path)
        self._metrics.provider_requests.labels(provider, kind).inc()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError:
            self._metrics.provider_errors.labels(provider, "network").inc()
            raise
        failure = error_kind(response.status_code)
        if failure is not None:
            self._metrics.provider_errors.labels(provider, failure).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def provider_hosts(base_urls: Mapping[str, str]) -> dict[str, str]:
    """`host[:port]` -> provider name, from each provider's base URL."""
    hosts: dict[str, str] = {}
    for name, url in base_urls.items():
        netloc = urlsplit(url).netloc.rsplit("@", 1)[-1]
        if netloc:
            hosts[netloc] = name
    return hosts
