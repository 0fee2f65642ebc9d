"""Where SQLite and PostgreSQL differ, in one place.

SQLite serialises every write transaction (`BEGIN IMMEDIATE`, see `bot.core.db`), so a read
followed by a write in one transaction can never race. PostgreSQL runs transactions side by
side under READ COMMITTED: `SELECT ... FOR UPDATE` locks only rows that exist, so two
transactions that both find a row missing both insert it, and the second fails on the primary
key. Inserting the row first with `ON CONFLICT DO NOTHING` (both databases spell it the same:
SQLite docs, lang_upsert; PostgreSQL docs, sql-insert) gives the lock something to hold.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_if_missing(*, session: Session, row: SQLModel) -> None:
    """Store `row` unless a row with its primary key exists; never fails on that key."""
    table: Any = type(row).__table__  # type: ignore[attr-defined]
    insert = sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
    values = {column.name: getattr(row, column.name) for column in table.columns}
    session.execute(insert(table).values(values).on_conflict_do_nothing())


def upsert(*, session: Session, row: SQLModel) -> None:
    """Store `row`, replacing the other columns of a row with its primary key: one statement,
    so two writers of the same key at once both succeed and the later one's values stay
    (`ON CONFLICT ... DO UPDATE`, spelt the same by both: SQLite docs, lang_upsert;
    PostgreSQL docs, sql-insert)."""
    table: Any = type(row).__table__  # type: ignore[attr-defined]
    insert = sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
    values = {column.name: getattr(row, column.name) for column in table.columns}
    keys = [column.name for column in table.primary_key.columns]
    statement = insert(table).values(values)
    others = {name: statement.excluded[name] for name in values if name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=others))


def serialise(*, session: Session, key: int) -> None:
    """Let one transaction at a time, across every process, past this point until it ends.

    On PostgreSQL a transaction-level advisory lock (PostgreSQL docs, explicit-locking:
    advisory locks; functions-admin: `pg_advisory_xact_lock`), released at COMMIT or ROLLBACK.
    SQLite's write transactions already run one at a time (`BEGIN IMMEDIATE`): nothing to do.
    """
    if session.get_bind().dialect.name != "sqlite":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
