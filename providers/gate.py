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
    """A response body that calls `give_back` once, when it is closed (a gate's place, a
    pool lent to one request)."""

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
