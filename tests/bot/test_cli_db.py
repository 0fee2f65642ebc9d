"""`reelbot db upgrade` and `reelbot db current` as an admin runs them: a real process,
configured through the environment, on the suite's database (SQLite, or PostgreSQL under
REELBOT_TEST_DB=postgresql)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.core import migrations
from bot.core.db import make_engine
from tests.bot.core.test_migrations import every_row, load_release_0_1, shape
from tests.testdb import database_url, on_postgresql

ROOT = Path(__file__).resolve().parents[2]
HEAD = migrations.head()


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def _env(url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    return {**base, "PYTHONPATH": str(ROOT), "DATABASE_URL": url}


def _start(url: str, command: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "bot", "db", command],
        env=_env(url),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def db(url: str, command: str, cwd: Path) -> Run:
    process = _start(url, command, cwd)
    out, err = process.communicate(timeout=60)
    return Run(process.returncode, out, err)


def test_current_says_none_then_upgrade_brings_the_database_to_the_newest_revision(
    tmp_path: Path,
) -> None:
    url = database_url(tmp_path / "admin.db")
    before = db(url, "current", tmp_path)
    assert (before.code, before.stdout) == (0, "none\n")
    assert "no schema yet" in before.stderr or "no such file yet" in before.stderr

    upgraded = db(url, "upgrade", tmp_path)
    assert (upgraded.code, upgraded.stdout) == (0, f"{HEAD}\n")
    assert f"upgraded  none -> {HEAD}" in upgraded.stderr

    again = db(url, "upgrade", tmp_path)
    assert (again.code, again.stdout) == (0, f"{HEAD}\n")
    assert "already up to date" in again.stderr

    now = db(url, "current", tmp_path)
    assert (now.code, now.stdout) == (0, f"{HEAD}\n")
    assert f"revision  {HEAD} (up to date)" in now.stderr
    engine = make_engine(url)
    assert migrations.current(engine) == HEAD
    engine.dispose()


def test_upgrade_by_hand_of_a_release_0_1_database_keeps_every_row(tmp_path: Path) -> None:
    url = database_url(tmp_path / "v0_1.db")
    load_release_0_1(url)
    old = shape(url)
    rows = every_row(url, old)
    done = db(url, "upgrade", tmp_path)
    assert done.code == 0, done.stderr
    assert f"upgraded  none -> {HEAD}" in done.stderr
    assert every_row(url, old) == rows


def test_two_upgrades_started_together_on_an_empty_database_both_succeed(
    tmp_path: Path,
) -> None:
    """One migrates; the other waits for the lock, then finds nothing left to do."""
    url = database_url(tmp_path / "race.db")
    processes = [_start(url, "upgrade", tmp_path) for _ in range(2)]
    runs = [Run(p.wait(timeout=60), *p.communicate(timeout=60)) for p in processes]
    assert [r.code for r in runs] == [0, 0], [r.stderr for r in runs]
    said = sorted("upgraded" if "upgraded  none" in r.stderr else "idle" for r in runs)
    assert said == ["idle", "upgraded"]
    engine = make_engine(url)
    assert migrations.current(engine) == HEAD
    engine.dispose()


def test_an_unreachable_database_is_a_clear_error_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://reelbot:cli-secret-5d1a@127.0.0.1:{port}/reelbot"
    for command in ("current", "upgrade"):
        done = db(url, command, tmp_path)
        assert done.code == 5
        assert f"cannot use the database at postgresql+psycopg://reelbot:***@127.0.0.1:{port}/" in (
            done.stderr
        )
        assert "Connection refused" in done.stderr
        assert "cli-secret-5d1a" not in done.stdout + done.stderr


@pytest.mark.skipif(not on_postgresql(), reason="needs PostgreSQL (REELBOT_TEST_DB=postgresql)")
def test_a_wrong_password_is_named_as_the_problem_without_showing_it(tmp_path: Path) -> None:
    url = make_url(database_url(tmp_path / "unused.db")).set(password="wrong-pw-61c0")
    done = db(url.render_as_string(hide_password=False), "current", tmp_path)
    assert done.code == 5
    assert "password authentication failed" in done.stderr
    assert "wrong-pw-61c0" not in done.stdout + done.stderr


def test_a_malformed_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    done = db("postgresql://reelbot:bad-url-pw-0e2@db:notaport/reelbot", "upgrade", tmp_path)
    assert done.code == 2
    assert "DATABASE_URL is not a database URL" in done.stderr
    assert "bad-url-pw-0e2" not in done.stdout + done.stderr


def test_current_on_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "not" / "there.db"
    done = db(f"sqlite:///{path}", "current", tmp_path)
    assert (done.code, done.stdout) == (0, "none\n")
    assert "no such file yet" in done.stderr
    assert not path.parent.exists()


def test_a_database_from_a_newer_release_is_refused_and_left_alone(tmp_path: Path) -> None:
    url = database_url(tmp_path / "newer.db")
    assert db(url, "upgrade", tmp_path).code == 0
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    done = db(url, "upgrade", tmp_path)
    assert done.code == 5
    assert "9999_future" in done.stderr
    engine = make_engine(url)
    assert migrations.current(engine) == "9999_future"
    engine.dispose()
