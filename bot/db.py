"""The database: engine set-up, idempotent schema upgrade, and running sync sessions off the loop.

SQLite runs in WAL mode with one writer thread; the same code runs on PostgreSQL, where
`Database.write` takes row locks instead (see `bot.jobs.store`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Column, event, inspect, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, create_engine

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def enum_column(enum: type[StrEnum], *, default: StrEnum | None = None) -> Column[str]:
    """Store an enum's values (not its names) as plain strings, portable across databases."""
    return Column(
        SAEnum(
            enum,
            values_callable=lambda members: [m.value for m in members],
            native_enum=False,
            validate_strings=True,
            length=16,
        ),
        nullable=False,
        default=default,
    )


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let BEGIN be issued explicitly (see `_begin`) so write transactions are IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A write transaction takes SQLite's write lock up front: check-and-spend is atomic.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upgrade_schema(engine: Engine) -> None:
    """Create missing tables, then add missing (nullable or defaulted) columns. Idempotent."""
    with engine.begin() as connection:
        SQLModel.metadata.create_all(connection)
        inspector = inspect(connection)
        backfills: list[str] = []
        for table in SQLModel.metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                default = ""
                if column.default is not None and getattr(column.default, "is_scalar", False):
                    value = column.default.arg  # type: ignore[attr-defined]
                    default = f" DEFAULT {_literal(value)}"
                elif not column.nullable:
                    default = " DEFAULT 0" if "INT" in kind.upper() else " DEFAULT ''"
                log.info("schema: adding %s.%s", table.name, column.name)
                connection.execute(
                    text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}{default}')
                )
                backfill = BACKFILLS.get((table.name, column.name))
                if backfill is not None:
                    backfills.append(backfill)
        for backfill in backfills:  # once every column they read exists
            connection.execute(text(backfill))


# Rows that existed before a column was added, set to what they mean for the new code.
BACKFILLS: dict[tuple[str, str], str] = {
    # A job caught in SUBMITTING by an older version may have sent its POST.
    ("job", "submit_attempted_at"): (
        "UPDATE job SET submit_attempted_at = updated_at WHERE state = 'submitting'"
    ),
    # Finished jobs of an older version: do not edit every old status message again.
    ("job", "final_shown"): (
        "UPDATE job SET final_shown = TRUE "
        "WHERE state IN ('delivered', 'failed', 'cancelled', 'unknown', 'rejected')"
    ),
}


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class Database:
    """Runs blocking session work in worker threads so the event loop never waits on I/O."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time: one thread avoids lock contention entirely.
        self._executor = ThreadPoolExecutor(
            max_workers=1 if self.is_sqlite else 8, thread_name_prefix="reelbot-db"
        )

    @classmethod
    def connect(cls, url: str) -> Database:
        engine = make_engine(url)
        upgrade_schema(engine)
        return cls(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    async def run(self, work: Callable[[Session], _T]) -> _T:
        """Run `work(session)` in one transaction, committed when it returns."""

        def call() -> _T:
            with self.session() as session:
                result = work(session)
                session.commit()
                return result

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
