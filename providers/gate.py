"""A gate in front of the provider client's connections.

`GatedTransport` lets at most as many requests through as there are connections behind it; the
others wait on a semaphore, which costs nothing per waiter and sets them no deadline. A request
holds its place until its response is closed (its body read), so the connections behind it never
have a request waiting: a wait there would count against the request's pool timeout and fail
status checks that are only queued behind others. (It was first written for httpcore's pool,
whose cost grew with the square of the requests waiting in it.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx


class GatedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; at most `size` requests are inside it at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, size: int) -> None:
        if size < 1:
            raise ValueError("the gate needs room for at least one request")
        self._inner = inner
        self._places = asyncio.Semaphore(size)
        self.size = size

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._places.acquire()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._places.release()
            raise
        stream = response.stream
        if not isinstance(stream, httpx.AsyncByteStream):  # not from an async transport
            self._places.release()
            return response
        response.stream = ReturningStream(stream, self._places.release)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class ReturningStream(httpx.AsyncByteStream):
    """A response body that calls `give_back` once, when it is closed (a gate's place)."""

    def __init__(self, inner: httpx.AsyncByteStream, give_back: Callable[[], None]) -> None:
        self._inner = inner
        self._give_back: Callable[[], None] | None = give_back

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            give_back, self._give_back = self._give_back, None
            if give_back is not None:
                give_back()
