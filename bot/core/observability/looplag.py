"""Event-loop lag: how late the loop runs a timer. A blocked loop delays everything."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.core.observability.metrics import Metrics

log = logging.getLogger(__name__)


async def watch_loop_lag(metrics: Metrics, *, every: float = 0.5) -> None:
    """Forever: sleep `every` seconds and record how much later than asked it woke."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(every)
        metrics.loop_lag.observe(max(0.0, time.perf_counter() - started - every))
