"""The database: engine set-up, the schema upgrade at start-up, and sync sessions off the loop.

SQLite runs in WAL mode with one writer thread; the same code runs on PostgreSQL, where
`Database.write` takes row locks instead (see `bot.core.jobs.store`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Column, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlmodel import Session, create_engine

from bot.core import migrations

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


_POSTGRES_SCHEMES = ("postgres", "postgresql")
# How long a transaction that lost its PostgreSQL connection is tried again (a restart's length).
RECONNECT_SECONDS = 30.0


def _is_disconnect(error: DBAPIError) -> bool:
    """The connection is gone or could not be made: not an answer about the data.

    SQLSTATE class 08 is a connection exception and 57P01-57P03 an administrator or crash
    shutdown (PostgreSQL docs, errcodes-appendix); a failure to connect carries no SQLSTATE.
    """
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None)
    if state is None:
        return isinstance(error, OperationalError)
    return bool(state.startswith("08") or state in ("57P01", "57P02", "57P03"))


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` URLs, as hosting panels hand them out, mean psycopg 3."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.lower() in _POSTGRES_SCHEMES:
        return f"postgresql+psycopg://{rest}"
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url)
        _ping_when_idle(engine)
        event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let BEGIN be issued explicitly (see `_begin`) so write transactions are IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A write transaction takes SQLite's write lock up front: check-and-spend is atomic.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# A pooled PostgreSQL connection back from its last work less than this long ago is taken as
# alive; one idle for longer is pinged before it is handed out (SQLAlchemy's pessimistic
# disconnect handling, done on checkout), since it may have been cut unnoticed while idle: a
# server restart, a proxy's idle timeout. Pinging every checkout would add a round trip to every
# piece of work (a reservation is one round trip without it). A connection cut within the
# window fails its work's first statement instead, and `Database.run` runs the work again on a
# new connection, as it does for one cut mid-transaction; the error marks the pool's other
# connections of that generation for renewal too.
PING_IF_IDLE_SECONDS = 0.5
_USED_AT = "reelbot_used_at"


def _ping_when_idle(engine: Engine) -> None:
    dialect = engine.dialect

    def used(_dbapi_connection: Any, record: Any) -> None:
        record.info[_USED_AT] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_USED_AT, 0.0) < PING_IF_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            # The pool replaces this connection and renews the older ones (SQLAlchemy docs,
            # pooling: "Disconnect Handling - Pessimistic", custom checkout events).
            raise InvalidatePoolError() from error

    event.listen(engine, "connect", used)
    event.listen(engine, "checkin", used)
    event.listen(engine, "checkout", checkout)


def _without_nul(
    _connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
) -> tuple[str, Any]:
    """PostgreSQL text cannot hold NUL (PostgreSQL docs, datatype-character); a modified
    Discord client can send one in any text. It carries no meaning, so it is dropped.

    `many` is also set for a batch of SQLAlchemy's "insertmanyvalues" (many new rows sent as
    one multi-row INSERT), whose parameters are one mapping, not a list of rows."""
    if many and not isinstance(parameters, dict):
        return statement, [_strip_nul(row) for row in parameters]
    return statement, _strip_nul(parameters)


def _strip_nul(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        return {
            k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in parameters.items()
        }
    if isinstance(parameters, list | tuple):
        return type(parameters)(
            v.replace("\x00", "") if isinstance(v, str) else v for v in parameters
        )
    return parameters


def _enable_wal(cursor: Any) -> None:
    """Switch a new file to WAL. The switch needs the file to itself and, when processes open
    a new file together, can fail with "database is locked" without waiting (SQLite docs,
    wal.html: changing into WAL mode); it is tried again for up to the busy timeout."""
    deadline = time.monotonic() + 30
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration, under a lock (see `bot.core.migrations`)."""
    migrations.upgrade(engine)


@dataclass(slots=True)
class _Progress:
    committing: bool  # a COMMIT, or a statement that commits itself, has been sent


@contextmanager
def driver_errors(
    dialect: Dialect, connection: Any, invalidate: Callable[[BaseException], None]
) -> Iterator[None]:
    """Errors of statements sent on the driver's own connection raised as SQLAlchemy raises
    those of its own statements: wrapped in `DBAPIError` (`IntegrityError` for a unique
    violation, and so on), and on a lost connection with the connection invalidated, so the
    pool replaces it and `Database`'s retries recognise the loss."""
    base = dialect.loaded_dbapi.Error
    try:
        yield
    except base as error:
        lost = dialect.is_disconnect(error, connection, None)
        if lost:
            invalidate(error)
        raise DBAPIError.instance(
            None,
            None,
            error,
            base,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error


class Database:
    """Runs blocking session work in worker threads so the event loop never waits on I/O."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # PostgreSQL work of one statement runs without BEGIN and COMMIT (`run(autocommit=...)`):
        # the same pool, each connection switched to autocommit while it is checked out
        # (SQLAlchemy docs, dbapi_autocommit; psycopg sends nothing to switch it).
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        # SQLite has one writer at a time: one thread avoids lock contention entirely.
        self._executor = ThreadPoolExecutor(
            max_workers=1 if self.is_sqlite else 8, thread_name_prefix="reelbot-db"
        )

    @classmethod
    def connect(cls, url: str) -> Database:
        engine = make_engine(url)
        try:
            upgrade_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @contextmanager
    def session(self, *, autocommit: bool = False) -> Iterator[Session]:
        """A session; with `autocommit` (PostgreSQL only), each statement it sends is a
        transaction of its own, and its commit sends nothing."""
        bind = self._autocommit if autocommit and not self.is_sqlite else self.engine
        with Session(bind, expire_on_commit=False) as session:
            yield session

    async def run(
        self,
        work: Callable[[Session], _T],
        *,
        landed: Callable[[Session], _T | None] | None = None,
        idempotent: bool = False,
        autocommit: bool = False,
    ) -> _T:
        """Run `work(session)` in one transaction, committed when it returns.

        On PostgreSQL, a transaction that lost its connection before COMMIT (the server
        restarted, the network blipped) was rolled back by the server, so it is run again on a
        new connection, for up to `RECONNECT_SECONDS`. One that lost it during COMMIT may or
        may not have been committed. Without `landed` that error is raised, never retried.
        With it, `landed(session)` reads on a new connection whether the commit took effect:
        its answer (not None) is returned as the result; None means it did not, and the
        transaction is run again. `idempotent` work (running it twice leaves what running it
        once does) is simply run again.

        `autocommit` work sends one statement that is atomic by itself (a function call):
        on PostgreSQL it runs in autocommit mode, which saves the BEGIN and COMMIT round
        trips; a connection lost while it runs leaves its outcome unknown, as during a COMMIT.
        On SQLite it runs in a transaction like any other work.
        """
        one_statement = autocommit and not self.is_sqlite

        def attempt(progress: _Progress) -> _T:
            with self.session(autocommit=one_statement) as session:
                result = work(session)
                progress.committing = True
                session.commit()
                return result

        return await self._in_thread(
            attempt, landed=landed, idempotent=idempotent, one_statement=one_statement
        )

    async def run_on_driver(
        self,
        work: Callable[[Any], _T],
        *,
        landed: Callable[[Session], _T | None],
    ) -> _T:
        """PostgreSQL only: `work(connection)` on a pooled psycopg connection in autocommit
        mode, for one statement that is atomic by itself and sent on the bot's busiest path
        (a reservation). It skips the session and SQLAlchemy's statement execution, which
        cost more CPU than the call itself; the pool, its pings and `run`'s retries stay:
        driver errors are raised as SQLAlchemy's (`driver_errors`), and a connection lost
        while the statement ran is settled by `landed`, as in `run(autocommit=True)`."""
        if self.is_sqlite:
            raise TypeError("run_on_driver is for PostgreSQL; SQLite work runs in `run`")

        def attempt(_progress: _Progress) -> _T:
            pooled = self.engine.raw_connection()
            try:
                connection: Any = pooled.driver_connection
                with driver_errors(self.engine.dialect, connection, pooled.invalidate):
                    connection.autocommit = True  # a client-side switch: nothing is sent
                    try:
                        return work(connection)
                    finally:
                        if not connection.closed:
                            connection.autocommit = False
            finally:
                pooled.close()  # back to the pool, or discarded if invalidated

        return await self._in_thread(attempt, landed=landed, idempotent=False, one_statement=True)

    async def _in_thread(
        self,
        attempt: Callable[[_Progress], _T],
        *,
        landed: Callable[[Session], _T | None] | None,
        idempotent: bool,
        one_statement: bool,
    ) -> _T:
        def call() -> _T:
            deadline = time.monotonic() + RECONNECT_SECONDS
            delay = 0.05
            unsure = False  # the last commit's outcome is unknown
            while True:
                progress = _Progress(committing=one_statement)
                try:
                    if unsure and landed is not None:
                        with self.session() as session:
                            found = landed(session)
                        if found is not None:
                            log.info("the interrupted commit had taken effect")
                            return found
                        unsure = False
                    return attempt(progress)
                except DBAPIError as error:
                    if self.is_sqlite or not _is_disconnect(error):
                        raise
                    if progress.committing and landed is None and not idempotent:
                        raise
                    if time.monotonic() + delay > deadline:
                        raise
                    unsure = unsure or progress.committing
                    log.warning(
                        "database connection lost (%s)%s; running the transaction again",
                        type(error.orig).__name__,
                        " while committing" if progress.committing else "",
                    )
                time.sleep(delay)  # a worker thread, never the event loop
                delay = min(delay * 2, 1.0)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
