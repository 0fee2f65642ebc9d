"""Waiting for a job: an adaptive poll cadence and a deadline.

The cadence (all numbers configurable, see README "Polling"):
- the first check comes quickly (`first_delay`), to catch jobs refused at once;
- while the provider reports a queue position p > 1, checks are `queue_seconds_per_position * p`
  apart (capped at `max_interval`): no point asking often when deep in the queue;
- during `warmup` seconds after submission (Dreamina clips do not finish faster), checks are
  `warmup_interval` apart;
- then every `interval` seconds, which is where most jobs finish;
- after `long_job_after` seconds the interval grows by `backoff_per_second` for each further
  second, up to `max_interval`, so very long jobs cost few requests.

After `deadline` seconds the wait ends with `StillRunning`: the job may still finish and be
charged, so it is reported as unknown, never as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from providers.base import Provider
from providers.errors import ProviderError
from providers.models import Cancelled, Failed, FinalUpdate, JobUpdate, Queued, Succeeded
from providers.retry import Sleep

log = logging.getLogger(__name__)


class Cadence(Protocol):
    """When to check next. `PollCadence` is today's fixed rules; a learned cadence
    (`providers.learned_polling.LearnedCadence`) may replace it for one job."""

    def next_delay(self, *, elapsed: float, checks: int, last: JobUpdate | None) -> float: ...


@dataclass(frozen=True, slots=True)
class PollCadence:
    first_delay: float = 1.0
    warmup: float = 20.0
    warmup_interval: float = 5.0
    interval: float = 1.5
    long_job_after: float = 240.0
    backoff_per_second: float = 0.02
    queue_seconds_per_position: float = 3.0
    max_interval: float = 15.0

    def next_delay(self, *, elapsed: float, checks: int, last: JobUpdate | None) -> float:
        """Seconds to wait before the next check, `elapsed` seconds after submission."""
        if checks == 0:
            return self.first_delay
        if isinstance(last, Queued) and last.position is not None and last.position > 1:
            queued = self.queue_seconds_per_position * last.position
            return min(self.max_interval, max(self.interval, queued))
        if elapsed < self.warmup:
            # Land exactly on the end of the warm-up rather than overshoot it.
            return max(self.interval, min(self.warmup_interval, self.warmup - elapsed))
        beyond = max(0.0, elapsed - self.long_job_after)
        return min(self.max_interval, self.interval + self.backoff_per_second * beyond)


@dataclass(frozen=True, slots=True)
class StillRunning:
    """The deadline passed with the job unfinished. Its outcome is unknown."""

    last: JobUpdate | None
    elapsed: float


Clock = Callable[[], float]
OnUpdate = Callable[[JobUpdate], Awaitable[None]]


async def wait_for_job(
    provider: Provider,
    job_id: str,
    *,
    cadence: Cadence,
    deadline: float,
    on_update: OnUpdate | None = None,
    elapsed_at_start: float = 0.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    wake: asyncio.Event | None = None,
) -> FinalUpdate | StillRunning:
    """Poll until the job ends or `deadline` seconds after submission pass.

    `elapsed_at_start` is the time already spent since submission (when resuming after a
    restart). Retryable errors that outlast the per-call retries are logged and polling goes on;
    other errors propagate. Setting `wake` (a verified provider callback) cuts the current wait
    short: the job is checked at once.
    """
    started = clock() - elapsed_at_start
    last: JobUpdate | None = None
    checks = 0
    while True:
        elapsed = clock() - started
        if elapsed >= deadline:
            return StillRunning(last=last, elapsed=elapsed)
        delay = cadence.next_delay(elapsed=elapsed, checks=checks, last=last)
        await _nap(min(delay, max(0.0, deadline - elapsed)), sleep=sleep, wake=wake)
        checks += 1
        try:
            update = await provider.poll(job_id)
        except ProviderError as error:
            if not error.retryable:
                raise
            log.warning("%s job %s: check failed, will retry: %s", provider.label, job_id, error)
            continue
        if update is None:
            continue
        if update != last:
            last = update
            if on_update is not None:
                await on_update(update)
        if isinstance(update, Succeeded | Failed | Cancelled):
            return update


async def _nap(seconds: float, *, sleep: Sleep, wake: asyncio.Event | None) -> None:
    """Sleep `seconds`, or until `wake` is set (then cleared for the next wait)."""
    if wake is None:
        await sleep(seconds)
        return
    if not wake.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()
    wake.clear()
