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

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_if_missing(*, session: Session, row: SQLModel) -> None:
    """Store `row` unless a row with its primary key exists; never fails on that key."""
    table: Any = type(row).__table__  # type: ignore[attr-defined]
    insert = sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
    values = {column.name: getattr(row, column.name) for column in table.columns}
    session.execute(insert(table).values(values).on_conflict_do_nothing())
