"""Suite-wide set-up: which database the tests run on (see `tests/testdb.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import testdb


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): the test reads or damages the SQLite file itself; "
        "skipped when the suite runs on PostgreSQL",
    )
    testdb.backend()  # a misspelt REELBOT_TEST_DB fails here, before any test runs


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {testdb.backend()} (REELBOT_TEST_DB)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not testdb.on_postgresql():
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "SQLite only"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def _postgres_server() -> Iterator[None]:
    """Stops the session's PostgreSQL server (if one was started) when the session ends."""
    yield
    testdb.DATABASES.stop()


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Drops the PostgreSQL databases a test created, once it is done with them."""
    yield
    testdb.DATABASES.drop_created()
