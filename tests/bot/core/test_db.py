"""The database layer on the suite's database (a SQLite file, or PostgreSQL under
REELBOT_TEST_DB=postgresql): URLs, the schema upgrade, start-up races, dropped connections."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel, col, select

import bot.core.guild.models
import bot.core.jobs.models
import bot.core.jobs.timings
from bot.core import db as db_module
from bot.core import migrations
from bot.core.audit import AuditAction, AuditEntry
from bot.core.db import Database, make_engine, normalise_url
from bot.core.guild.models import FilterRuleRow
from bot.core.settings import SettingsError, load_settings
from tests import testdb
from tests.testdb import database_url, on_postgresql

ROOT = Path(__file__).resolve().parents[3]
# The tables the upgrade creates are those of the imported models.
assert bot.core.guild.models and bot.core.jobs.models
postgresql_only = pytest.mark.skipif(
    not on_postgresql(), reason="needs PostgreSQL (REELBOT_TEST_DB=postgresql)"
)


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://u:p@db.example.net:5432/reelbot",
        "postgres://u:p@db.example.net:5432/reelbot",
        "POSTGRES://u:p@db.example.net:5432/reelbot",
        "postgresql+psycopg://u:p@db.example.net:5432/reelbot",
    ],
)
def test_postgres_urls_as_hosting_panels_give_them_use_psycopg_3(given: str) -> None:
    assert normalise_url(given) == "postgresql+psycopg://u:p@db.example.net:5432/reelbot"
    engine = make_engine(given)  # no connection is made until the first query
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    engine.dispose()


def test_sqlite_urls_are_left_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert normalise_url(url) == url


def _create_old_schema(url: str) -> None:
    """The `job` and `guild_config` tables as an early release made them, one row each."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE job (id VARCHAR(32) PRIMARY KEY, channel_id BIGINT NOT NULL, "
                "user_id BIGINT NOT NULL, mode VARCHAR NOT NULL, provider VARCHAR NOT NULL, "
                "prompt VARCHAR NOT NULL, duration INTEGER NOT NULL, resolution VARCHAR NOT NULL,"
                " seed INTEGER NOT NULL, cost INTEGER NOT NULL, state VARCHAR(16) NOT NULL)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO job (id, channel_id, user_id, mode, provider, prompt, duration, "
                "resolution, seed, cost, state) VALUES ('old1', 20, 30, 'text', 'runcomfy', "
                "'a lighthouse', 5, '1080P', 7, 1, 'delivered')"
            )
        )
        connection.execute(text("CREATE TABLE guild_config (guild_id BIGINT PRIMARY KEY)"))
        connection.execute(text("INSERT INTO guild_config (guild_id) VALUES (99)"))
    engine.dispose()


def test_upgrade_adds_columns_with_defaults_and_keeps_every_row(tmp_path: Path) -> None:
    url = database_url(tmp_path / "old.db")
    _create_old_schema(url)

    database = Database.connect(url)  # upgrades; a second connect finds nothing to add
    database.close()
    database = Database.connect(url)
    with Session(database.engine) as session:
        job = session.execute(
            text("SELECT id, prompt, nsfw, refunded, result_deleted, updated_at FROM job")
        ).one()
        settings = session.execute(
            text(
                "SELECT guild_id, nsfw_channels_only, approval_everywhere, "
                "review_expiry_hours, nsfw_policy FROM guild_config"
            )
        ).one()
    database.close()
    assert (job.id, job.prompt) == ("old1", "a lighthouse")
    assert (bool(job.nsfw), bool(job.refunded), bool(job.result_deleted)) == (False,) * 3
    assert isinstance(job.updated_at, float) and job.updated_at > 0
    assert settings.guild_id == 99
    assert not settings.nsfw_channels_only and not settings.approval_everywhere
    assert settings.review_expiry_hours == 24.0
    assert settings.nsfw_policy == "spoiler"


def test_processes_starting_together_on_an_empty_database_all_come_up(tmp_path: Path) -> None:
    url = database_url(tmp_path / "empty.db")
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def boot() -> None:
        start.wait()
        try:
            Database.connect(url).close()  # each its own engine, as separate processes have
        except BaseException as error:  # noqa: BLE001 - collected and asserted on below
            errors.append(error)

    threads = [threading.Thread(target=boot) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert tables == {*SQLModel.metadata.tables, "alembic_version"} > {"job"}
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [v[0] for v in versions] == [migrations.head()]
    engine.dispose()


@postgresql_only
async def test_a_transaction_cut_by_a_server_restart_is_retried_once_it_is_back(
    tmp_path: Path,
) -> None:
    database = Database.connect(database_url(tmp_path / "unused.db"))
    server = testdb.postgres_server()
    attempts: list[int] = []

    def work(session: Session) -> int:
        attempts.append(1)
        session.execute(text("CREATE TABLE IF NOT EXISTS probe (n INTEGER)"))
        if len(attempts) == 1:
            server.restart()  # the connection under this transaction is gone
        session.execute(text("INSERT INTO probe (n) VALUES (1)"))
        return int(session.execute(text("SELECT count(*) FROM probe")).scalar_one())

    try:
        assert await database.run(work) == 1
        assert len(attempts) == 2
        assert await database.run(lambda s: s.execute(text("SELECT 1")).scalar_one()) == 1
    finally:
        database.close()


@postgresql_only
@pytest.mark.parametrize("idle_for_ping", [0.0, 3600.0], ids=["pinged", "used-recently"])
async def test_a_pooled_connection_is_pinged_only_after_idling_and_a_restart_costs_no_work(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    idle_for_ping: float,
) -> None:
    """A connection idle past `PING_IF_IDLE_SECONDS` is pinged when handed out, so one cut by
    a restart is replaced before the work starts; one used more recently is handed out without
    a round trip, and if it was cut, the work's first statement fails and the work runs again
    on a new connection. Either way the work's result is right and written once."""
    monkeypatch.setattr(db_module, "PING_IF_IDLE_SECONDS", idle_for_ping)
    database = Database.connect(database_url(tmp_path / "unused.db"))
    pings: list[int] = []
    real_ping = database.engine.dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(database.engine.dialect, "do_ping", counted_ping)
    attempts: list[int] = []

    def insert(session: Session) -> int:
        attempts.append(1)
        session.execute(text("INSERT INTO probe (n) VALUES (1)"))
        return _probe_rows(session)

    try:
        await database.run(lambda s: s.execute(text("CREATE TABLE probe (n INTEGER)")))
        await database.run(_probe_rows)
        pinged_before = len(pings)
        assert pinged_before == (2 if idle_for_ping == 0 else 0)  # each checkout, or none
        await asyncio.to_thread(testdb.postgres_server().restart)  # every connection drops
        with caplog.at_level(logging.WARNING, logger="bot.core.db"):
            assert await database.run(insert) == 1
        assert await database.run(_probe_rows) == 1
        if idle_for_ping == 0:
            assert len(attempts) == 1 and caplog.records == []
        else:
            assert len(pings) == 0 and len(attempts) == 2
            assert "database connection lost" in caplog.text
    finally:
        database.close()


class _AnswerLostAfterCommit:
    """The server commits, then the connection drops before its answer arrives: the one
    moment where the client cannot know whether its transaction took effect."""

    def __init__(self, database: Database) -> None:
        self.dialect = database.engine.dialect
        self.real = self.dialect.do_commit
        self.left = 1

    def __call__(self, dbapi_connection: Any) -> None:
        self.real(dbapi_connection)
        if self.left:
            self.left -= 1
            raise psycopg.OperationalError("server closed the connection unexpectedly")


def _probe_rows(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM probe")).scalar_one())


@postgresql_only
async def test_a_commit_whose_answer_was_lost_is_checked_not_repeated_or_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database.connect(database_url(tmp_path / "unused.db"))
    await database.run(lambda s: s.execute(text("CREATE TABLE probe (n INTEGER)")))

    def insert(session: Session) -> int:
        session.execute(text("INSERT INTO probe (n) VALUES (1)"))
        return _probe_rows(session)

    def landed(session: Session) -> int | None:
        rows = _probe_rows(session)
        return rows if rows else None

    try:
        lost = _AnswerLostAfterCommit(database)
        monkeypatch.setattr(lost.dialect, "do_commit", lost)
        # Without a way to check, the outcome is unknown: the error reaches the caller.
        with pytest.raises(DBAPIError):
            await database.run(insert)
        assert await database.run(_probe_rows) == 1  # it had in fact been committed
        # With a check, the caller gets the committed result, and nothing is written twice.
        lost.left = 1
        assert await database.run(insert, landed=landed) == 2
        assert await database.run(_probe_rows) == 2
    finally:
        database.close()


@postgresql_only
async def test_an_idempotent_write_whose_commit_answer_was_lost_is_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database.connect(database_url(tmp_path / "unused.db"))
    await database.run(lambda s: s.execute(text("CREATE TABLE probe (n INTEGER PRIMARY KEY)")))
    await database.run(lambda s: s.execute(text("INSERT INTO probe (n) VALUES (1)")))
    writes: list[int] = []

    def renew(session: Session) -> int:
        writes.append(1)
        result: Any = session.execute(text("UPDATE probe SET n = 2"))
        return int(result.rowcount)

    try:
        lost = _AnswerLostAfterCommit(database)
        monkeypatch.setattr(lost.dialect, "do_commit", lost)
        assert await database.run(renew, idempotent=True) == 1
        assert len(writes) == 2
        assert await database.run(lambda s: s.execute(text("SELECT n FROM probe")).all()) == [(2,)]
    finally:
        database.close()


@postgresql_only
async def test_one_statement_work_runs_in_autocommit_and_a_lost_answer_is_checked(
    tmp_path: Path,
) -> None:
    """`run(autocommit=True)`: the statement is committed by itself (another connection sees
    its row before the work returns, so no BEGIN was sent), and a connection lost while it
    ran leaves its outcome unknown: raised without `landed`, settled by `landed` with it."""
    database = Database.connect(database_url(tmp_path / "unused.db"))
    await database.run(lambda s: s.execute(text("CREATE TABLE probe (n INTEGER)")))
    seen: list[int] = []
    lose = [0]

    def answer_lost(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if lose[0] and statement.startswith("INSERT"):
            lose[0] -= 1
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    def insert(session: Session) -> int:
        session.execute(text("INSERT INTO probe (n) VALUES (1)"))
        with database.engine.connect() as other:
            seen.append(_probe_rows(Session(other)))
        return len(seen)

    def landed(session: Session) -> int | None:
        return -_probe_rows(session) or None

    event.listen(database.engine, "after_cursor_execute", answer_lost)
    try:
        assert await database.run(insert, autocommit=True) == 1
        assert seen == [1]
        lose[0] = 1
        with pytest.raises(DBAPIError):
            await database.run(insert, autocommit=True)
        assert await database.run(_probe_rows) == 2  # it had in fact been committed
        lose[0] = 1
        assert await database.run(insert, autocommit=True, landed=landed) == -3
        assert await database.run(_probe_rows) == 3  # checked, not run again
        # The same work in an ordinary transaction is not seen from outside until COMMIT.
        assert await database.run(insert) == 2 and seen[-1] == 3
    finally:
        event.remove(database.engine, "after_cursor_execute", answer_lost)
        database.close()


@postgresql_only
async def test_work_on_the_driver_connection_commits_by_itself_and_a_lost_answer_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`run_on_driver`: the statement is committed by itself on psycopg's own connection; the
    connection goes back to the pool out of autocommit; a connection lost after the statement
    ran (its server process ended before the answer was read) is settled by `landed`, not run
    again; one cut by a restart before it ran is run once on a new one; a unique violation is
    SQLAlchemy's `IntegrityError`, as from `run`."""
    monkeypatch.setattr(db_module, "PING_IF_IDLE_SECONDS", 3600.0)  # reuse without a ping
    database = Database.connect(database_url(tmp_path / "unused.db"))
    await database.run(lambda s: s.execute(text("CREATE TABLE probe (n INTEGER PRIMARY KEY)")))
    calls: list[int] = []
    lose_answer = [0]
    restart_first = [0]

    def insert(connection: Any) -> int:
        calls.append(1)
        if restart_first[0]:
            restart_first[0] = 0
            testdb.postgres_server().restart()  # this pooled connection is gone
        n = len(calls)
        connection.execute("INSERT INTO probe (n) VALUES (%s)", (n,))
        with database.engine.connect() as other:  # committed already: no BEGIN was sent
            assert _probe_rows(Session(other)) >= 1
        if lose_answer[0]:
            lose_answer[0] = 0
            with database.engine.connect() as other:
                pid = connection.info.backend_pid
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.execute("SELECT 1")  # the answer never comes
        return n

    def landed(session: Session) -> int | None:
        found = session.execute(text("SELECT max(n) FROM probe")).scalar_one()
        return -int(found) if found == len(calls) else None

    try:
        assert await database.run_on_driver(insert, landed=landed) == 1
        # Back in the pool out of autocommit: an ordinary transaction is atomic again.
        with pytest.raises(DBAPIError):
            await database.run(lambda s: s.execute(text("INSERT INTO probe (n) VALUES (100), (1)")))
        assert await database.run(_probe_rows) == 1
        lose_answer[0] = 1
        with caplog.at_level(logging.WARNING, logger="bot.core.db"):
            assert await database.run_on_driver(insert, landed=landed) == -2
        assert "database connection lost" in caplog.text
        assert len(calls) == 2 and await database.run(_probe_rows) == 2  # not run again
        restart_first[0] = 1
        # Lost before the statement: `landed` finds nothing, so it runs once more.
        assert await database.run_on_driver(insert, landed=landed) == 4
        rows = await database.run(lambda s: s.execute(text("SELECT n FROM probe")).all())
        assert sorted(rows) == [(1,), (2,), (4,)]

        def duplicate(connection: Any) -> None:
            connection.execute("INSERT INTO probe (n) VALUES (1)")

        with pytest.raises(IntegrityError):
            await database.run_on_driver(duplicate, landed=lambda s: None)
    finally:
        database.close()


async def test_work_on_the_driver_connection_is_refused_on_sqlite(tmp_path: Path) -> None:
    database = Database.connect(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        with pytest.raises(TypeError, match="PostgreSQL"):
            await database.run_on_driver(lambda c: 1, landed=lambda s: None)
    finally:
        database.close()


def _run_bot(env: dict[str, Any], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env={**base, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_unreachable_database_stops_start_up_without_showing_its_password(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = _run_bot(
        {
            "DISCORD_TOKEN": "db-test-token-4411",
            "WAVESPEED_API_KEY": "db-test-key-4412",
            "DATABASE_URL": f"postgres://reelbot:pg-secret-9c2e@127.0.0.1:{port}/reelbot",
            "LOG_LEVEL": "DEBUG",
        },
        tmp_path,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "Connection refused" in output
    assert "pg-secret-9c2e" not in output


async def test_the_database_password_is_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = database_url(tmp_path / "logged.db")
    # SQLAlchemy logs nothing unless asked; ask for everything, as an admin debugging would.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="sqlalchemy"):
        database = await asyncio.to_thread(Database.connect, url)
        try:
            await database.run(lambda s: s.execute(text("SELECT 1")).scalar_one())
        finally:
            database.close()
    assert caplog.records  # SQLAlchemy's engine and pool log at this level
    assert testdb.PASSWORD not in caplog.text


def test_a_database_url_of_another_kind_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, database_url="mysql://root:hunter2-db@db/reelbot")
    assert "DATABASE_URL" in str(caught.value)
    assert "postgresql://" in str(caught.value)
    assert "hunter2-db" not in str(caught.value)


def test_settings_never_show_the_database_url_in_their_repr() -> None:
    url = "postgresql://reelbot:repr-secret-77@db/reelbot"
    assert "repr-secret-77" not in repr(load_settings(_env_file=None, database_url=url))


async def test_text_with_a_nul_character_is_stored_without_it(tmp_path: Path) -> None:
    """PostgreSQL refuses NUL in text; a modified client can send one in any field."""
    database = await asyncio.to_thread(Database.connect, database_url(tmp_path / "nul.db"))

    def store(session: Session) -> str:
        session.execute(text("CREATE TABLE note (body VARCHAR)"))
        session.execute(text("INSERT INTO note (body) VALUES (:body)"), {"body": "no\x00pe"})
        return str(session.execute(text("SELECT body FROM note")).scalar_one())

    try:
        stored = await database.run(store)
    finally:
        database.close()
    assert stored.replace("\x00", "") == "nope"  # SQLite keeps it; PostgreSQL drops it


async def test_many_rows_added_at_once_are_stored_and_lose_their_nul(tmp_path: Path) -> None:
    """A batch of new rows is one multi-row INSERT on PostgreSQL (SQLAlchemy's insertmanyvalues);
    every row arrives whole, with NUL dropped as for a single row."""
    database = await asyncio.to_thread(Database.connect, database_url(tmp_path / "many.db"))
    patterns = [f"word{n}\x00" for n in range(40)]

    def store(session: Session) -> None:
        session.add_all(
            FilterRuleRow(guild_id=7, kind="word", pattern=p, added_by=8) for p in patterns
        )

    def load(session: Session) -> list[str]:
        rows = session.exec(select(FilterRuleRow).order_by(col(FilterRuleRow.id))).all()
        return [row.pattern.replace("\x00", "") for row in rows]

    try:
        await database.run(store)
        stored = await database.run(load)
    finally:
        database.close()
    assert stored == [p.replace("\x00", "") for p in patterns]


async def test_several_rows_of_one_table_are_added_in_one_flush(tmp_path: Path) -> None:
    """The ORM inserts them as one multi-row statement ("insertmanyvalues"), whose one set of
    parameters must still pass through the NUL filter on PostgreSQL."""
    database = await asyncio.to_thread(Database.connect, database_url(tmp_path / "many.db"))

    def add(session: Session) -> list[str | None]:
        session.add_all(
            AuditEntry(guild_id=1, action=AuditAction.SETTINGS, reason=reason)
            for reason in ("first\x00", "second")
        )
        session.flush()
        return [e.reason for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))]

    try:
        reasons = await database.run(add)
    finally:
        database.close()
    assert [r.replace("\x00", "") for r in reasons if r is not None] == ["first", "second"]
