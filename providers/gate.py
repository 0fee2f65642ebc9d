"""A gate in front of the provider client's connection pool.

httpcore's pool looks for a free connection for every queued request each time a request starts
or ends, so its cost grows with the square of the requests waiting in it: with a thousand status
checks queued, each cost about half again as much CPU as with fifty. `GatedTransport` lets at most
as many requests into the pool as it has connections; the others wait on a semaphore, which costs
nothing per waiter. A request holds its place until its response is closed (its body read), so
the pool never has more requests than connections and never queues.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

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
        response.stream = _ReleasingStream(stream, self._places)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives the request's place back once, when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, places: asyncio.Semaphore) -> None:
        self._inner = inner
        self._places: asyncio.Semaphore | None = places

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            places, self._places = self._places, None
            if places is not None:
                places.release()
