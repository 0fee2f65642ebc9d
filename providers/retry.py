"""Retry rules for safe (idempotent) provider calls: capped exponential backoff, full jitter,
and `Retry-After`. Each rule is a small function so it can be tested on its own.

The paid submit POST never goes through here: it is sent exactly once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from providers.errors import ProviderError

log = logging.getLogger(__name__)

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full-jitter exponential backoff for retry number `attempt` (0-based)."""
    ceiling = min(policy.max_delay, policy.base_delay * (2**attempt))
    return rng.uniform(0.0, ceiling)


_JITTER = random.Random()  # noqa: S311 - jitter, not cryptography; seeded once, not per request


def retry_delay(
    attempt: int, retry_after: float | None, policy: RetryPolicy, rng: random.Random
) -> float:
    """The wait before the next try: `Retry-After` when given (capped), else backoff."""
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    return backoff_delay(attempt, policy, rng)


async def with_retries(
    operation: Callable[[], Awaitable[_T]],
    *,
    policy: RetryPolicy,
    what: str,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> _T:
    """Run `operation`, retrying the `ProviderError`s that say they are retryable."""
    rng = rng or _JITTER
    attempt = 0
    while True:
        try:
            return await operation()
        except ProviderError as error:
            attempt += 1
            if not error.retryable or attempt >= policy.max_attempts:
                raise
            delay = retry_delay(attempt - 1, error.retry_after, policy, rng)
            log.info(
                "%s: %s; retry %d/%d in %.1fs",
                what,
                error.admin_message,
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            await sleep(delay)
