"""A throwaway PostgreSQL 15 server for the test suite, started from the installed binaries.

One server per test session (see `tests/conftest.py`): a fresh data directory under a temp
folder, a free loopback port, fsync off, a password-protected superuser. Each test asks
`tests.databases` for a new, empty database on it.

`initdb` and `postgres` refuse to run as root (PostgreSQL docs, app-initdb: "initdb must be
run as the user that will own the server process"), so under root they run as the `postgres`
OS user through `runuser`, and the data directory is handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

BIN_DIR = Path(os.environ.get("REELBOT_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"  # who runs the server when the tests run as root
USER = "reelbot"
PASSWORD = "pg-test-password-8e1d"  # a throwaway server's; the tests check it is never logged


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are missing or the server would not start."""


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root needs `runuser` to start PostgreSQL as postgres")
    return [runuser, "-u", OS_USER, "--", *command]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """`start()` it once, `database()` as often as needed, `stop()` at the end."""

    def __init__(self, bin_dir: Path = BIN_DIR) -> None:
        self.bin_dir = bin_dir
        self.port = 0
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._count = 0

    @property
    def data_dir(self) -> Path:
        assert self._root is not None
        return self._root / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} password={PASSWORD} dbname=postgres"

    def start(self) -> None:
        for binary in ("initdb", "postgres"):
            if not (self.bin_dir / binary).is_file():
                raise PostgresUnavailable(
                    f"{self.bin_dir / binary} not found: install PostgreSQL 15 "
                    "(Debian: apt-get install postgresql-15) or set REELBOT_PG_BIN"
                )
        self._root = Path(tempfile.mkdtemp(prefix="reelbot-pg-"))
        password_file = self._root / "password"
        password_file.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self._root, user=OS_USER, group=OS_USER)
            shutil.chown(password_file, user=OS_USER, group=OS_USER)
        init = [
            str(self.bin_dir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            USER,
            "--pwfile",
            str(password_file),
            "--auth",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        ]
        done = subprocess.run(_as_server_user(init), capture_output=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {done.stderr.decode(errors='replace')}")
        self._launch()

    def _launch(self, port: int | None = None) -> None:
        """Start the server on `port` (or a free one); wait until it accepts connections."""
        for _ in range(1 if port else 5):
            self.port = port or _free_port()
            command = [
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.data_dir),  # the Unix socket, in a folder the server user owns
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ]
            log = (self.data_dir / "server.log").open("ab")
            self._process = subprocess.Popen(  # noqa: S603
                _as_server_user(command), stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
            if self._wait_ready():
                return
            self._terminate()
        raise PostgresUnavailable(f"PostgreSQL did not start; see {self.data_dir / 'server.log'}")

    def _wait_ready(self, timeout: float = 30.0) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False  # e.g. the port was taken between probing and binding
            try:
                psycopg.connect(self.admin_dsn(), connect_timeout=2).close()
            except psycopg.OperationalError:
                time.sleep(0.05)
            else:
                return True
        return False

    def restart(self) -> None:
        """Stop the server (every connection drops) and start it again on the same port."""
        self._terminate()
        self._launch(self.port)

    def database(self) -> str:
        """A new, empty database; returns its URL."""
        self._count += 1
        name = f"t{os.getpid()}_{self._count}"
        with psycopg.connect(self.admin_dsn(), autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 STRATEGY FILE_COPY").format(
                    sql.Identifier(name)
                )
            )
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_dsn(), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def _terminate(self) -> None:
        """A fast shutdown (SIGINT to the postmaster: PostgreSQL docs, server-shutdown): every
        session is ended at once. The postmaster is signalled directly, not through runuser."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        self._terminate()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
