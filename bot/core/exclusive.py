"""Work that one process at a time may do, across every process on the database, while it
awaits other things (posting to Discord, say): a PostgreSQL session-level advisory lock
(PostgreSQL docs, explicit-locking: advisory locks; functions-admin: `pg_try_advisory_lock`),
held on a connection of its own for the duration. A process that dies loses its connection,
and the server releases the lock with it, so a dead holder never blocks the others.

SQLite gets no lock here: its file is shared by the processes of one host, and holding its
write lock across network calls would stop every other write meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from bot.core.db import Database

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def one_process_at_a_time(db: Database, *, key: int) -> AsyncIterator[bool]:
    """Yields True if this process may do the work now (and holds the lock until the block
    ends), False if another process is doing it."""
    if db.is_sqlite:
        yield True
        return
    connection = await asyncio.to_thread(_try_lock, db, key)
    if connection is None:
        yield False
        return
    try:
        yield True
    finally:
        await asyncio.to_thread(_unlock, connection, key)


def _try_lock(db: Database, key: int) -> Connection | None:
    connection = db.engine.connect()
    try:
        held = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        got = bool(held.scalar_one())
        connection.commit()  # the lock is the session's: it outlives this transaction
    except BaseException:
        connection.close()
        raise
    if not got:
        connection.close()
        return None
    return connection


def _unlock(connection: Connection, key: int) -> None:
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        connection.commit()
    except DBAPIError:
        # The connection is gone (a server restart): the server released the lock with it.
        log.warning("could not release advisory lock %s; its connection was lost", key)
        connection.invalidate()
    finally:
        connection.close()
