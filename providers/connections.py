"""How the provider client's connections are organised: a gate and connections of its own for
each provider host, and the requests sent by aiohttp's client under httpx's.

httpx stays the providers' client (its requests, responses, timeouts, redirects and errors are
what `providers` is written against); only the transport under it is aiohttp's. httpcore's
connection pool (1.0.x) walks every connection it holds each time a request enters or leaves it,
so a request's cost grew with the connections open, and even one connection per pool cost
0.45 ms of the event loop per status check where aiohttp's client costs 0.08 ms
(benchmarks/REPORT.md, http_client): with thousands of jobs in flight that was most of the bot's
CPU. aiohttp is already here (discord.py is built on it). `ByHost` gives each provider its own
gate and connections, so a slow provider's checks never hold the places another provider's need.
`ProviderClient` is the httpx client itself, without the reference cycle httpx leaves in each
response.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import httpx
import yarl
from multidict import CIMultiDict

from providers.gate import GatedTransport

# What a read response's body is left as (`ProviderClient`): it is never read again.
_READ = httpx.ByteStream(b"")


class ProviderClient(httpx.AsyncClient):
    """httpx's client, whose read responses are freed as soon as they are dropped.

    httpx (0.28) wraps each response's body in a stream that refers back to the response (to
    time it), a reference cycle: every response, with its request, headers and the transport's
    own objects, was left for the garbage collector, 42 objects a status check. At a thousand
    checks a second that made the collector's youngest pass run twice a second and take 50-90 ms
    each time (benchmarks/REPORT.md, bot_load). Once `send` has read and closed the body (any
    request but a `stream`ed one), the wrapper is dropped, and the cycle with it; the content
    and the timing were kept by then.
    """

    async def send(
        self, request: httpx.Request, *, stream: bool = False, **options: Any
    ) -> httpx.Response:
        response = await super().send(request, stream=stream, **options)
        if not stream:
            response.stream = _READ
        return response


class AiohttpConnections(httpx.AsyncBaseTransport):
    """Sends httpx requests with an aiohttp client session of at most `size` connections.

    The session does no more than send and receive: httpx above it follows redirects, keeps
    cookies and decodes compressed bodies (so aiohttp does none of that), and aiohttp's errors
    become the httpx errors they mean, so a request that never reached the provider
    (`httpx.ConnectError`, `httpx.ConnectTimeout`) stays distinguishable from one whose answer
    was lost. The session is made on first use, inside the event loop that uses it.
    """

    def __init__(
        self, *, size: int, ssl_context: ssl.SSLContext, keepalive_expiry: float = 5.0
    ) -> None:
        if size < 1:
            raise ValueError("the connections need room for at least one request")
        self.size = size
        self._ssl = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.size,
                limit_per_host=0,
                ssl=self._ssl,
                keepalive_timeout=self._keepalive_expiry,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=False,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        seconds = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=seconds.get("pool"),
            sock_connect=seconds.get("connect"),
            sock_read=seconds.get("read"),
        )
        body = await request.aread()
        headers = CIMultiDict(request.headers.multi_items())  # httpx's, Content-Length included
        if headers.popall("Transfer-Encoding", None):
            # A streamed body was read whole above: it is sent with its length, never chunked.
            headers["Content-Length"] = str(len(body))
        try:
            response = await session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                skip_auto_headers=("Content-Type",),  # only the request's own
                timeout=timeout,
            )
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _as_httpx(error, request) from error
        version = response.version or aiohttp.HttpVersion11
        return httpx.Response(
            status_code=response.status,
            headers=[(name, value) for name, value in response.raw_headers],
            stream=_Body(response, request),
            extensions={
                "http_version": f"HTTP/{version.major}.{version.minor}".encode(),
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class _Body(httpx.AsyncByteStream):
    """An aiohttp response's body as httpx reads it. Closing it gives the connection back for
    reuse when the body was read to its end, and closes it otherwise."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _as_httpx(error, self._request) from error

    async def aclose(self) -> None:
        self._response.release()


def _as_httpx(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error an aiohttp error means. Order matters: aiohttp's timeout errors are also
    `TimeoutError`s, and its connect errors are also `OSError`s."""
    message = str(error) or type(error).__name__
    kind: type[httpx.TransportError]
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout  # no connection was made: nothing was sent
    elif isinstance(error, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError  # refused, unreachable, TLS handshake or name lookup failed
    elif isinstance(error, aiohttp.NonHttpUrlClientError | aiohttp.InvalidUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(error, TimeoutError):
        kind = httpx.ReadTimeout  # sent, no answer in time
    elif isinstance(
        error,
        aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError,
    ):
        kind = httpx.RemoteProtocolError  # the connection ended or the answer was malformed
    else:
        kind = httpx.ReadError
    return kind(message, request=request)


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
    """At most `size` requests at once, on at most `size` connections. One TLS context for all
    of them (loading the CA bundle is slow)."""
    connections = AiohttpConnections(
        size=size, ssl_context=ssl_context, keepalive_expiry=keepalive_expiry
    )
    return GatedTransport(connections, size=size)


def provider_transport(hosts: list[str], *, connections: int) -> ByHost:
    """The provider client's transport: for each provider host (`host[:port]`), a gate of
    `connections` places in front of as many connections of its own; any other host (none is
    expected) gets the same, shared."""
    context = httpx.create_ssl_context()
    return ByHost(
        {host: gated_connections(connections, ssl_context=context) for host in hosts},
        other=gated_connections(connections, ssl_context=context),
    )
