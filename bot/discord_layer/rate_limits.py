"""Discord's 429 answers: counted through discord.py's `http_trace` hook (an aiohttp
TraceConfig), and waited out past discord.py's own retries where a post matters.

discord.py waits out a 429 itself, but only five times per request; in a busy channel, where
status posts, status edits and results share the channel's message bucket, a post can lose
the race five times in a row and comes back as `HTTPException` 429. That is Discord asking
the bot to wait, not refusing the post: `patiently` sends it again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import TypeVar

import aiohttp
import discord

from bot.core.observability.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a post keeps being sent again while Discord answers 429: well inside the 15
#: minutes an interaction's token lasts, and long enough for a channel's bucket (5 per 5 s)
#: to serve dozens of posts queued ahead of it.
PATIENCE_SECONDS = 60.0
#: Discord's `Retry-After` is in whole seconds; a missing or odd one waits this long.
DEFAULT_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 10.0


def rate_limit_trace(metrics: Metrics) -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if params.response.status == 429:
            metrics.discord_rate_limits.inc()

    trace.on_request_end.append(on_request_end)
    return trace


def is_rate_limited(error: BaseException) -> bool:
    return isinstance(error, discord.HTTPException) and error.status == 429


def retry_after(error: discord.HTTPException) -> float:
    """Seconds Discord asked to wait (the `Retry-After` header), within bounds."""
    headers = getattr(error.response, "headers", None) or {}
    try:
        wait = float(headers.get("Retry-After", DEFAULT_WAIT_SECONDS))
    except (TypeError, ValueError):
        wait = DEFAULT_WAIT_SECONDS
    return min(max(wait, 0.05), MAX_WAIT_SECONDS)


async def patiently(
    send: Callable[[], Awaitable[T]],
    *,
    what: str,
    patience: float = PATIENCE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`send()`, called again while Discord answers 429 after discord.py's own retries, for
    up to `patience` seconds; then the 429 is raised. Any other error is raised at once.
    `send` must build its request afresh (discord.py closes a message's files once sent)."""
    deadline = clock() + patience
    while True:
        try:
            return await send()
        except discord.HTTPException as error:
            if not is_rate_limited(error):
                raise
            wait = retry_after(error)
            if clock() + wait > deadline:
                raise
            log.info("%s: still rate limited by Discord; sending again in %.1f s", what, wait)
            await asyncio.sleep(wait)
