"""Versioned schema migrations (Alembic), configured in code: no alembic.ini at run time.

`upgrade` brings a database to the newest revision under a lock, so that processes started
together on an empty database all come up: SQLite's write lock (`BEGIN IMMEDIATE`, see
`bot.core.db.make_engine`) or, on PostgreSQL, a transaction-level advisory lock (PostgreSQL
docs, explicit-locking: advisory locks). Every migration runs inside that one transaction on the
caller's connection (Alembic cookbook: "Sharing a Connection across one or more programmatic
migration commands"), so the lock is held until the new revision is committed.

A database made before versioned migrations has tables but no `alembic_version`: the baseline
revision completes it (missing tables, columns and indexes) and the upgrade records it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# Any number that fits in a bigint and is ours: the key of the upgrade's advisory lock.
LOCK_KEY = 0x5EE1_B07


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, pointing at this folder; `env.py` uses `connection`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision this code knows."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migration scripts in {HERE / 'versions'}")
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision; None when no migration has ever run on it."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate to `revision` (the newest by default) in one transaction, under the lock.

    Returns the revision the database was at, read under the lock (None: no migration had run).
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(config(connection), revision)
        return before
