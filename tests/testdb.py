"""The database the suite runs on: a SQLite file per test (the default) or, with
`REELBOT_TEST_DB=postgresql`, a fresh database per test on one throwaway PostgreSQL server.

Every test that needs a database gets its URL from `database_url`, so one switch moves the
whole suite. The server starts on first use and stops at the end of the session; the databases
a test created are dropped after it (`tests/conftest.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.core.db import normalise_url
from tests.pg import PASSWORD, PostgresServer

__all__ = ["PASSWORD", "database_url", "on_postgresql", "postgres_server", "rows"]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


def backend() -> str:
    chosen = os.environ.get("REELBOT_TEST_DB", SQLITE).strip().lower() or SQLITE
    if chosen not in (SQLITE, POSTGRESQL):
        raise ValueError(f"REELBOT_TEST_DB must be {SQLITE} or {POSTGRESQL}, not {chosen!r}")
    return chosen


def on_postgresql() -> bool:
    return backend() == POSTGRESQL


class _Databases:
    """The session's server (started when first needed) and the databases made since `reset`."""

    def __init__(self) -> None:
        self.server: PostgresServer | None = None
        self.created: list[str] = []

    def new(self) -> str:
        if self.server is None:
            server = PostgresServer()
            server.start()
            self.server = server
        url = self.server.database()
        self.created.append(url)
        return url

    def drop_created(self) -> None:
        created, self.created = self.created, []
        if self.server is not None:
            for url in created:
                self.server.drop(url)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


DATABASES = _Databases()


def database_url(sqlite_file: Path) -> str:
    """`sqlite:///<sqlite_file>`, or a new empty PostgreSQL database under REELBOT_TEST_DB."""
    if on_postgresql():
        return DATABASES.new()
    return f"sqlite:///{sqlite_file}"


def postgres_server() -> PostgresServer:
    """The session's server (for tests that restart it); only under REELBOT_TEST_DB=postgresql."""
    if DATABASES.server is None:
        DATABASES.new()
    assert DATABASES.server is not None
    return DATABASES.server


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    """Read a database as an outside observer (its own connection, nothing of the bot's), on
    either backend: for tests that watch a bot process from outside."""
    engine = create_engine(
        normalise_url(url),
        poolclass=NullPool,
        connect_args={"timeout": 30} if url.startswith("sqlite") else {},
    )
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()
