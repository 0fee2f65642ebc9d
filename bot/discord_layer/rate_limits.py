"""Counting Discord's 429 answers through discord.py's `http_trace` hook (an aiohttp
TraceConfig): discord.py waits them out itself and reports them only in its log."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp

from bot.core.observability.metrics import Metrics


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
