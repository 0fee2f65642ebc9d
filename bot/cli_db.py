"""`reelbot db upgrade` and `reelbot db current`: schema migrations by hand.

The bot upgrades the schema itself at start-up; these are for admins who migrate before a
deploy, or want to see where a database stands. Exit codes: 0 done; 2 DATABASE_URL is not a
database URL; 5 the database could not be reached or the upgrade failed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic.util import CommandError
from rich.console import Console
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from bot.core import migrations
from bot.core.db import make_engine, normalise_url

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BAD_URL = 2
EXIT_DATABASE = 5


def masked(url: str) -> str:
    """The URL with its password replaced by `***`, fit to show."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def current(url: str, console: Console) -> int:
    if _missing_sqlite_file(url):  # looking must not create it
        console.print(f"database  {masked(url)}: no such file yet", soft_wrap=True)
        print("none")  # noqa: T201 - the command's output, for scripts
        return EXIT_OK
    engine = _engine(url, console)
    if engine is None:
        return EXIT_BAD_URL
    try:
        revision = migrations.current(engine)
        newest = migrations.head()
    except SQLAlchemyError as error:
        return _unreachable(url, error, console)
    finally:
        engine.dispose()
    console.print(f"database  {masked(url)}", soft_wrap=True)
    if revision is None:
        console.print("revision  none: no schema yet (run `reelbot db upgrade`, or start the bot)")
    elif revision == newest:
        console.print(f"revision  {revision} (up to date)")
    else:
        console.print(f"revision  {revision}; this release's newest is {newest}")
        console.print("          run `reelbot db upgrade` (the bot also upgrades at start-up)")
    print(revision or "none")  # noqa: T201 - the command's output, for scripts
    return EXIT_OK


def upgrade(url: str, console: Console) -> int:
    engine = _engine(url, console)
    if engine is None:
        return EXIT_BAD_URL
    try:
        before = migrations.upgrade(engine)
        after = migrations.current(engine)
    except CommandError as error:  # e.g. a revision this release does not know
        console.print(f"error: cannot upgrade {masked(url)}: {error}", soft_wrap=True)
        return EXIT_DATABASE
    except SQLAlchemyError as error:
        return _unreachable(url, error, console)
    finally:
        engine.dispose()
    console.print(f"database  {masked(url)}", soft_wrap=True)
    if before == after:
        console.print(f"revision  {after} (already up to date)")
    else:
        console.print(f"upgraded  {before or 'none'} -> {after}")
    print(after)  # noqa: T201 - the command's output, for scripts
    return EXIT_OK


def _missing_sqlite_file(url: str) -> bool:
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return False
    path = parsed.database
    is_file = parsed.get_backend_name() == "sqlite" and path not in (None, "", ":memory:")
    return is_file and not Path(str(path)).exists()


def _engine(url: str, console: Console) -> Engine | None:
    try:
        return make_engine(url)
    except (ArgumentError, ValueError):
        console.print("error: DATABASE_URL is not a database URL")
        return None


def _unreachable(url: str, error: SQLAlchemyError, console: Console) -> int:
    """One line saying why, from the driver's own message: it names the host, never the
    password (psycopg and sqlite3 do not echo it)."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    log.debug("database error", exc_info=error)
    console.print(f"error: cannot use the database at {masked(url)}: {reason}", soft_wrap=True)
    return EXIT_DATABASE
