"""How the provider client's connections are organised: a gate and connections of its own for
each provider host, and every request on a connection that no other request is using.

httpcore's connection pool (1.0.x) walks every connection it holds each time a request enters or
leaves it: it checks each one's keep-alive, probes each idle one's socket for a server-side close,
and counts the idle ones once per connection, so a request's cost grows with the pool (with 100
keep-alive connections to the providers, the walk was most of the bot's CPU; benchmarks/REPORT.md,
bot_load). `OneConnectionEach` keeps many single-connection pools instead and lends a free one to
each request, so every walk covers one connection whatever the number open, and `ByHost` gives
each provider its own gate and connections, so a slow provider's checks never hold the places
another provider's need.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping

import httpx

from providers.gate import GatedTransport, ReturningStream


class OneConnectionEach(httpx.AsyncBaseTransport):
    """Each request on a connection of its own, from single-connection pools kept for reuse.

    A request takes the pool that was given back last (its connection the most recently used, so
    the least likely to have expired), or a new pool when every one is lent out, and gives it back
    when its response is closed. It never waits here: bound the requests inside with a
    `GatedTransport` in front, which then bounds the pools (and connections) too.
    """

    def __init__(self, new_pool: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._new_pool = new_pool
        self._free: list[httpx.AsyncBaseTransport] = []
        self.pools: list[httpx.AsyncBaseTransport] = []
        """Every pool made so far (at most as many as requests were ever inside at once)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._free.pop() if self._free else self._make()
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._free.append(pool)
            raise
        stream = response.stream
        if not isinstance(stream, httpx.AsyncByteStream):  # not from an async transport
            self._free.append(pool)
            return response
        response.stream = ReturningStream(stream, lambda: self._free.append(pool))
        return response

    def _make(self) -> httpx.AsyncBaseTransport:
        pool = self._new_pool()
        self.pools.append(pool)
        return pool

    async def aclose(self) -> None:
        pools, self.pools, self._free = self.pools, [], []
        for pool in pools:
            await pool.aclose()


class ByHost(httpx.AsyncBaseTransport):
    """Sends each request to the transport of its URL's `host[:port]`, or to `other`."""

    def __init__(
        self, routes: Mapping[str, httpx.AsyncBaseTransport], *, other: httpx.AsyncBaseTransport
    ) -> None:
        self.routes = {host.lower(): transport for host, transport in routes.items()}
        self.other = other

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.netloc.decode("ascii").lower()
        return await self.routes.get(host, self.other).handle_async_request(request)

    async def aclose(self) -> None:
        for transport in (*self.routes.values(), self.other):
            await transport.aclose()


def gated_connections(
    size: int, *, ssl_context: ssl.SSLContext, keepalive_expiry: float = 5.0
) -> GatedTransport:
    """At most `size` requests at once, each on a connection of its own (at most `size` open).
    One TLS context for all of them: httpx would otherwise load the CA bundle once per pool."""
    limits = httpx.Limits(
        max_connections=1, max_keepalive_connections=1, keepalive_expiry=keepalive_expiry
    )

    def new_pool() -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)

    return GatedTransport(OneConnectionEach(new_pool), size=size)


def provider_transport(hosts: list[str], *, connections: int) -> ByHost:
    """The provider client's transport: for each provider host (`host[:port]`), a gate of
    `connections` places in front of as many connections of its own; any other host (none is
    expected) gets the same, shared."""
    context = httpx.create_ssl_context()
    return ByHost(
        {host: gated_connections(connections, ssl_context=context) for host in hosts},
        other=gated_connections(connections, ssl_context=context),
    )
