"""What `/readyz` checks: connected to Discord, database reachable, leases renewed recently."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.core.db import Database

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class Probes:
    """Read-only views of the running bot, supplied by the composition root."""

    discord_connected: Callable[[], bool]
    gateway_latencies: Callable[[], list[tuple[int, float]]]
    leases_renewed_at: Callable[[], float]
    """`time.monotonic()` of the last successful lease renewal (or of the start)."""
    lease_seconds: float


async def database_reachable(db: Database) -> bool:
    """A query answers in time (and an SQLite file is still where it was: a deleted file keeps
    answering through open connections, but no other process would see the data)."""
    path = db.engine.url.database if db.is_sqlite else None
    if path and path != ":memory:" and not await asyncio.to_thread(Path(path).exists):
        return False
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            await db.run(lambda s: s.connection().execute(text("SELECT 1")).scalar_one())
    except (SQLAlchemyError, OSError, RuntimeError, TimeoutError) as error:
        log.warning("readiness: the database did not answer (%s)", type(error).__name__)
        return False
    return True


async def readiness(db: Database, probes: Probes) -> dict[str, bool]:
    leases_age = time.monotonic() - probes.leases_renewed_at()
    return {
        "discord": probes.discord_connected(),
        "database": await database_reachable(db),
        "leases": leases_age < probes.lease_seconds,
    }
