"""The suite's throwaway PostgreSQL server never outlives the test run that started it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pg, pg_watchdog

ROOT = Path(__file__).resolve().parents[2]
# A test run in miniature: starts a server, says where it is, then waits to be killed.
CHILD = """
import json, sys, time
from tests.pg import PostgresServer
server = PostgresServer()
server.start()
data = server.data_dir
print(json.dumps({
    "root": str(data.parent),
    "postmaster": int((data / "postmaster.pid").read_text().split()[0]),
    "watchdog": server._watchdog.pid,
}), flush=True)
time.sleep(600)
"""


@pytest.fixture
def run() -> Iterator[tuple[subprocess.Popen[str], dict[str, object]]]:
    child = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    started = json.loads(child.stdout.readline())
    try:
        yield child, started
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        pg_watchdog.clean_up(Path(str(started["root"])))


def gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pg_watchdog.alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_killed_test_run_does_not_leave_its_server_running(
    run: tuple[subprocess.Popen[str], dict[str, object]],
) -> None:
    child, started = run
    postmaster, root = int(str(started["postmaster"])), Path(str(started["root"]))
    assert pg_watchdog.alive(postmaster)
    assert (root / "data").is_dir()
    child.send_signal(signal.SIGKILL)  # no clean-up of its own runs
    child.wait()
    assert gone(postmaster)
    assert gone(int(str(started["watchdog"])))
    assert not root.exists()


def test_a_new_run_clears_the_server_of_a_run_that_is_gone(
    run: tuple[subprocess.Popen[str], dict[str, object]],
) -> None:
    child, started = run
    postmaster, root = int(str(started["postmaster"])), Path(str(started["root"]))
    os.kill(int(str(started["watchdog"])), signal.SIGKILL)  # as if nothing watched it
    child.kill()
    child.wait()
    assert not gone(postmaster, timeout=1.0)  # orphaned
    assert root in pg.clear_stale()
    assert not pg_watchdog.alive(postmaster)
    assert not root.exists()


def test_the_server_of_a_live_run_is_left_alone(
    run: tuple[subprocess.Popen[str], dict[str, object]],
) -> None:
    _, started = run
    assert Path(str(started["root"])) not in pg.clear_stale()
    assert pg_watchdog.alive(int(str(started["postmaster"])))
