"""Running video work off the event loop: in a worker thread, one piece at a time per process
(a semaphore; FFmpeg already uses every core for one encode), under a time limit. At the limit
the caller gets `VideoTimeout` at once and the thread is told to stop between two frames; the
next piece starts only once it has."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bot.core.video.errors import VideoTimeout
from bot.core.video.stop import StopFlag

log = logging.getLogger(__name__)

T = TypeVar("T")


class VideoWorker:
    def __init__(self, *, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self._slot = asyncio.Semaphore(1)
        self._running: dict[asyncio.Future[Any], StopFlag] = {}
        self._closed = False

    async def run(self, what: str, work: Callable[[StopFlag], T]) -> T:
        """Run `work(stop)` in a thread once the slot is free; its result, or its error.

        `what` names the work in logs and in the timeout's message.
        """
        if self._closed:
            raise RuntimeError("the video worker is closed")
        await self._slot.acquire()
        stop = StopFlag()
        loop = asyncio.get_running_loop()
        try:
            future: asyncio.Future[T] = loop.run_in_executor(None, _timed, what, work, stop)
        except BaseException:
            self._slot.release()
            raise
        self._running[future] = stop
        future.add_done_callback(self._finished)
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            stop.set(f"{what} stopped after its {self.timeout:g} s limit")
            log.warning("%s took longer than %g s; stopping it", what, self.timeout)
            raise VideoTimeout(
                f"{what} took longer than {self.timeout:g} s and was stopped"
            ) from None
        except asyncio.CancelledError:
            stop.set(f"{what} cancelled")
            raise

    def _finished(self, future: asyncio.Future[Any]) -> None:
        self._running.pop(future, None)
        self._slot.release()
        if not future.cancelled() and future.exception() is not None:
            # Retrieved here too, so an error after a timeout is not reported as unretrieved.
            log.debug("video work ended with %r", future.exception())

    async def aclose(self) -> None:
        """Stop taking work, tell running work to stop, and wait for its thread to end."""
        self._closed = True
        running = list(self._running.items())
        for _, stop in running:
            stop.set("shutting down")
        if running:
            await asyncio.wait([future for future, _ in running])


def _timed(what: str, work: Callable[[StopFlag], T], stop: StopFlag) -> T:
    started = time.perf_counter()
    log.debug("%s started", what)
    try:
        return work(stop)
    finally:
        log.debug("%s finished in %.2f s", what, time.perf_counter() - started)
