"""Versioned migrations on the suite's database (a SQLite file, or PostgreSQL under
REELBOT_TEST_DB=postgresql): the baseline reproduces the models' schema, and databases made by
release 0.1.0 (or older) upgrade in place with every row kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, col, select

import bot.core.guild.models
import bot.core.jobs.models
import bot.core.jobs.timings
import bot.core.preferences.models
from bot.core import migrations, quotas
from bot.core.audit import AuditAction, AuditEntry
from bot.core.db import Database, make_engine
from bot.core.guild import store as guild_store
from bot.core.guild.models import NsfwPolicy, Window
from bot.core.jobs import store
from bot.core.jobs.models import JobState, LedgerEntry, LedgerKind
from tests import pg
from tests.testdb import database_url, on_postgresql

# their tables are on the metadata
assert bot.core.guild.models and bot.core.jobs.models and bot.core.preferences.models
FIXTURES = Path(__file__).parent / "fixtures"
TABLES = sorted(SQLModel.metadata.tables)


def differences(database: Database) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models."""
    with database.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))


def load_release_0_1(url: str) -> None:
    """Make the database a copy of one that release 0.1.0 created, rows included."""
    if on_postgresql():
        with psycopg.connect(pg.dsn(url), autocommit=True) as connection:
            connection.execute((FIXTURES / "schema_v0_1_postgresql.sql").read_text())
    else:
        path = make_url(url).database
        assert path is not None
        with sqlite3.connect(path) as file:
            file.executescript((FIXTURES / "schema_v0_1_sqlite.sql").read_text())
        file.close()


# Added by 0003_job_context: what only the process that received the interaction knew.
JOB_CONTEXT = ("interaction_id", "member_locale", "guild_locale", "review_channel_id")


Shape = dict[str, list[str]]


def shape(url: str) -> Shape:
    """The tables the database has, and their columns (Alembic's own table left out)."""
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return {
            table: sorted(c["name"] for c in inspector.get_columns(table))
            for table in sorted(inspector.get_table_names())
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def every_row(
    url: str, like: dict[str, list[str]] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by primary key. With `like` (a `shape`), only those
    tables and columns: what a later revision adds does not count as a change to old rows."""
    tables = like if like is not None else shape(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: [tuple(row) for row in connection.execute(select_columns(table, columns))]
                for table, columns in tables.items()
            }
    finally:
        engine.dispose()


def select_columns(table: str, columns: list[str]) -> Any:
    """SELECT the columns, ordered by the table's primary key (by every column when the models
    don't know the table)."""
    known = SQLModel.metadata.tables.get(table)
    keys = (
        [c.name for c in known.primary_key.columns if c.name in columns]
        if known is not None
        else []
    )
    ordered = keys + [c for c in columns if c not in keys]
    rows = sa.table(table, *(sa.column(c) for c in ordered))
    return sa.select(*rows.c).order_by(*(rows.c[c] for c in (keys or ordered)))


def test_an_empty_database_upgraded_to_head_matches_the_models(tmp_path: Path) -> None:
    database = Database.connect(database_url(tmp_path / "empty.db"))
    try:
        assert migrations.current(database.engine) == migrations.head() == "0011_store_job_figures"
        assert differences(database) == []
        tables = set(inspect(database.engine).get_table_names())
        assert tables == {*TABLES, "alembic_version"}
    finally:
        database.close()


def test_the_comparison_sees_a_missing_column(tmp_path: Path) -> None:
    """The check above can fail: a column the models have and the database lacks is reported."""
    database = Database.connect(database_url(tmp_path / "drift.db"))
    try:
        with database.engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_log DROP COLUMN reason"))
        assert [(d[0], d[3].name) for d in differences(database)] == [("add_column", "reason")]
    finally:
        database.close()


def test_a_database_made_by_release_0_1_upgrades_in_place_with_every_row_kept(
    tmp_path: Path,
) -> None:
    url = database_url(tmp_path / "v0_1.db")
    load_release_0_1(url)
    old = shape(url)
    before = every_row(url, old)
    assert {table: len(rows) for table, rows in before.items()} == {
        "audit_log": 2,
        "blocked_member": 1,
        "guild_config": 1,
        "job": 6,
        "member": 1,
        "prompt_rule": 1,
        "quota_ledger": 4,
        "quota_tier": 1,
    }
    engine = make_engine(url)
    assert migrations.current(engine) is None  # 0.1.0 knew no migrations
    engine.dispose()

    database = Database.connect(url)
    try:
        assert migrations.current(database.engine) == migrations.head()
        assert differences(database) == []
        with Session(database.engine) as session:
            _assert_readable_by_the_stores(session)
            # New rows still get ids after the old ones (PostgreSQL: the old sequences).
            entry = LedgerEntry(
                guild_id=111, user_id=333, kind=LedgerKind.GRANT, amount=-1, counted_at=1.0
            )
            session.add(entry)
            session.commit()
            assert entry.id == 5
    finally:
        database.close()
    after = every_row(url, old)
    after["quota_ledger"] = after["quota_ledger"][:-1]
    assert after == before
    # Old jobs knew none of it: NULLs, which the unique interaction id allows on every row.
    job = SQLModel.metadata.tables["job"]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.select(*(job.c[name] for name in JOB_CONTEXT))
            context = [tuple(row) for row in connection.execute(query)]
    finally:
        engine.dispose()
    assert context == [(None, None, None, None)] * 6


def _assert_readable_by_the_stores(session: Session) -> None:
    states = {
        job_id: job.state
        for job_id in ("j_accepted", "j_submitted", "j_delivered", "j_failed", "j_review")
        if (job := store.get(session=session, job_id=job_id)) is not None
    }
    assert states == {
        "j_accepted": JobState.ACCEPTED,
        "j_submitted": JobState.SUBMITTED,
        "j_delivered": JobState.DELIVERED,
        "j_failed": JobState.FAILED,
        "j_review": JobState.PENDING_REVIEW,
    }
    submitted = store.get(session=session, job_id="j_submitted")
    assert submitted is not None
    assert (submitted.provider_job_id, submitted.lease_owner) == ("rc-1", "proc-a")
    assert submitted.prompt == "prompt j_submitted — ünïcode"
    delivered = store.get(session=session, job_id="j_delivered")
    assert delivered is not None and delivered.nsfw and delivered.final_shown
    assert [j.id for j in store.recent_jobs(session=session, guild_id=111, user_id=333)] == [
        "j_reroll",
        "j_accepted",
    ]
    ledger = quotas.ledger(session=session, guild_id=111, user_id=336)
    assert [(e.kind, e.amount, e.note) for e in ledger] == [
        (LedgerKind.REFUND, -1, "no video"),
        (LedgerKind.RESERVE, 1, None),
    ]
    config = guild_store.config(session=session, guild_id=111)
    assert config.allowed_channel_ids == [222, 223]
    assert config.disabled_providers == ["wavespeed"]
    assert config.nsfw_policy is NsfwPolicy.REVIEW
    assert config.review_expiry_hours == 12.5
    [tier] = guild_store.tiers(session=session, guild_id=111)
    assert (tier.window, tier.providers) == (Window.DAILY, ["runcomfy"])
    blocked = guild_store.blocked(session=session, guild_id=111, user_id=777)
    assert blocked is not None and blocked.reason == "spam"
    assert [r.pattern for r in guild_store.rules(session=session, guild_id=111)] == ["forbidden"]
    audit = session.exec(select(AuditEntry).order_by(col(AuditEntry.at))).all()
    assert [(a.action, a.forwarded) for a in audit] == [
        (AuditAction.ACCEPTED, True),
        (AuditAction.SETTINGS, False),
    ]


def test_a_database_from_before_the_last_columns_is_completed_and_stamped(
    tmp_path: Path,
) -> None:
    """An older file than 0.1.0: columns, a table and an index that came later are missing."""
    url = database_url(tmp_path / "older.db")
    load_release_0_1(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE job SET state = 'submitting' WHERE id = 'j_accepted'"))
        for table, column in (
            ("job", "submit_attempted_at"),
            ("job", "submit_retry_at"),
            ("job", "final_shown"),
            ("guild_config", "review_expiry_hours"),
            ("guild_config", "audit_channel_id"),
            ("quota_tier", "providers"),
            ("audit_log", "forwarded"),
        ):
            connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        connection.execute(text("DROP INDEX ix_job_state_created"))
        connection.execute(text("DROP TABLE member"))
    engine.dispose()

    database = Database.connect(url)
    try:
        assert migrations.current(database.engine) == migrations.head()
        assert differences(database) == []
        with Session(database.engine) as session:
            jobs = {
                row.id: (row.submit_attempted_at, bool(row.final_shown))
                for row in session.execute(
                    text("SELECT id, submit_attempted_at, final_shown, updated_at FROM job")
                )
            }
            config = guild_store.config(session=session, guild_id=111)
            [tier] = guild_store.tiers(session=session, guild_id=111)
            forwarded = session.exec(select(AuditEntry.forwarded)).all()
    finally:
        database.close()
    # A job caught sending may have sent its POST; finished jobs need no catch-up edit.
    assert jobs["j_accepted"] == (1764000001.0, False)
    assert jobs["j_delivered"] == (None, True)
    assert jobs["j_failed"] == (None, True)
    assert jobs["j_submitted"] == (None, False)
    assert (config.review_expiry_hours, config.audit_channel_id) == (24.0, None)
    assert config.allowed_channel_ids == [222, 223]
    assert tier.providers == []
    assert forwarded == [False, False]


def test_upgrading_a_database_at_head_changes_nothing(tmp_path: Path) -> None:
    url = database_url(tmp_path / "twice.db")
    Database.connect(url).close()
    before = every_row(url)
    database = Database.connect(url)
    try:
        with database.engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [v[0] for v in versions] == [migrations.head()]
    finally:
        database.close()
    assert every_row(url) == before


@pytest.mark.parametrize("column", ["review_expiry_hours", "nsfw_channels_only"])
def test_a_column_added_to_existing_rows_gets_a_default_of_its_type(
    tmp_path: Path, column: str
) -> None:
    """PostgreSQL refuses `DEFAULT ''` on a float and `DEFAULT 1` on a boolean."""
    url = database_url(tmp_path / "typed.db")
    load_release_0_1(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE guild_config DROP COLUMN {column}"))
    engine.dispose()
    database = Database.connect(url)
    try:
        with Session(database.engine) as session:
            query = text(f"SELECT {column} FROM guild_config")  # noqa: S608 - a fixed name
            value = session.execute(query).scalar_one()
    finally:
        database.close()
    assert value == {"review_expiry_hours": 24.0, "nsfw_channels_only": False}[column]
