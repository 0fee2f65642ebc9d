"""A fresh database (SQLite file, or PostgreSQL under REELBOT_TEST_DB) for each core test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.db import Database
from tests.testdb import database_url


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(database_url(tmp_path / "store.db"))
    yield database
    database.close()
