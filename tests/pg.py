"""A throwaway PostgreSQL 15 server for the test suite, started from the installed binaries.

One server per test session (see `tests/conftest.py`): a fresh data directory under a temp
folder, a free loopback port, fsync off, a password-protected superuser. Each test asks
`tests.databases` for a new, empty database on it.

`initdb` and `postgres` refuse to run as root (PostgreSQL docs, app-initdb: "initdb must be
run as the user that will own the server process"), so under root they run as the `postgres`
OS user through `runuser`, and the data directory is handed to that user.

A test run that is killed (SIGKILL, a closed terminal) runs no clean-up of its own, so the
server is watched from outside: `tests/pg_watchdog.py` stops it and removes its folder as soon
as the test process is gone. Each folder names its owner's pid, and a new run first clears the
folders (and servers) of runs that are no longer alive.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tests import pg_watchdog

BIN_DIR = Path(os.environ.get("REELBOT_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"  # who runs the server when the tests run as root
USER = "reelbot"
PASSWORD = "pg-test-password-8e1d"  # a throwaway server's; the tests check it is never logged
PREFIX = "reelbot-pg-"  # each server's temp folder
OWNER_FILE = "owner.pid"  # in that folder: the pid of the test process that started it
# A folder with no owner file and no server is a leftover once it is this old (a younger one
# may be a run's `initdb` in progress).
LEFTOVER_SECONDS = 600.0


def dsn(url: str) -> str:
    """A database URL as the bot takes it (`postgresql+psycopg://...`, `postgresql://`) in the
    form psycopg connects with itself: a libpq URI (PostgreSQL docs, libpq-connect,
    "Connection URIs")."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


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


def _parent_of(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return None
    return int(fields[1])  # proc(5): the field after the state is the parent's pid


def _is_stale(root: Path) -> bool:
    """Whether `root` is the folder of a run that is gone (see the module docstring)."""
    try:
        owner = int((root / OWNER_FILE).read_text())
    except FileNotFoundError:
        owner = None
    except ValueError:
        return False  # being written
    if owner is not None:
        return not pg_watchdog.alive(owner)
    # A folder from before owner files: stale once its server is gone for a while, or when
    # the process that started it (through runuser) is no longer a test run.
    postmaster = pg_watchdog.postmaster_pid(root / "data")
    if postmaster is None:
        try:
            return time.time() - root.stat().st_mtime > LEFTOVER_SECONDS
        except FileNotFoundError:
            return False
    starter = _parent_of(postmaster)
    if starter is not None and _command(starter).split(b"\0")[0].endswith(b"runuser"):
        starter = _parent_of(starter)
    return starter is None or b"pytest" not in _command(starter)


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return b""


def clear_stale(temp_dir: Path | None = None) -> list[Path]:
    """Stop the servers and remove the folders of test runs that are no longer alive."""
    cleared = []
    for root in Path(temp_dir or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        if root.is_dir() and _is_stale(root):
            pg_watchdog.clean_up(root)
            cleared.append(root)
    return cleared


class PostgresServer:
    """`start()` it once, `database()` as often as needed, `stop()` at the end."""

    def __init__(self, bin_dir: Path = BIN_DIR, *, durable: bool = False) -> None:
        """`durable`: fsync, synchronous_commit and full_page_writes on (PostgreSQL's
        defaults, as a production server runs) instead of off, for benchmarks that report
        figures for a server that keeps every committed transaction through a crash."""
        self.bin_dir = bin_dir
        self.durable = durable
        self.port = 0
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._watch_fd: int | None = None  # the pipe's write end; closing it stops the server
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
        clear_stale()
        self._root = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self._root / OWNER_FILE).write_text(str(os.getpid()))
        self._start_watchdog(self._root)
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

    def _start_watchdog(self, root: Path) -> None:
        """`tests/pg_watchdog.py` in its own session, holding the read end of a pipe."""
        read_fd, self._watch_fd = os.pipe()  # neither end is inherited by other children
        try:
            self._watchdog = subprocess.Popen(  # noqa: S603
                [sys.executable, pg_watchdog.__file__, str(read_fd), str(os.getpid()), str(root)],
                pass_fds=(read_fd,),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(read_fd)

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
                *self._durability(),
                "-c",
                "max_connections=300",
            ]
            log = (self.data_dir / "server.log").open("ab")
            # Its own session: a Ctrl-C in the terminal reaches the test run, which stops the
            # server itself, not the server mid-teardown.
            self._process = subprocess.Popen(  # noqa: S603
                _as_server_user(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            if self._wait_ready():
                return
            self._terminate()
        raise PostgresUnavailable(f"PostgreSQL did not start; see {self.data_dir / 'server.log'}")

    def _durability(self) -> list[str]:
        if self.durable:
            return ["-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"]
        return ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]

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
        if self._watch_fd is not None:
            os.close(self._watch_fd)  # the watchdog finds nothing left to do and exits
            self._watch_fd = None
        if self._watchdog is not None:
            self._watchdog.wait(timeout=30)
            self._watchdog = None


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
