"""Alembic's environment: runs the migrations on the connection `bot.core.migrations` hands in.

Developers who run the `alembic` command itself (see README, "Adding a migration") have no
connection to hand in: an engine is made from DATABASE_URL, as the bot makes it.
"""

from __future__ import annotations

import os

from alembic import context
from sqlmodel import SQLModel

# The models register their tables on SQLModel's metadata, which autogenerate compares with.
import bot.core.audit
import bot.core.guild.models
import bot.core.jobs.models
import bot.core.jobs.timings
import bot.core.preferences.models  # noqa: F401
from bot.core.db import make_engine


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=SQLModel.metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(os.environ.get("DATABASE_URL", "sqlite:///data/reelbot.db"))
    try:
        with engine.begin() as own:
            context.configure(connection=own, target_metadata=SQLModel.metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


_run()
