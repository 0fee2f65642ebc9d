"""Stops a test PostgreSQL server when the test process that started it is gone.

`tests/pg.py` starts this script next to the server with the read end of a pipe whose write
end only the test process holds. When that process ends for any reason (a clean exit, an
exception, SIGTERM, SIGKILL, a closed terminal), the kernel closes its end and the read here
returns end-of-file; the parent's pid is also checked, in case a forked child inherited the
write end. The server is then shut down (SIGINT: a fast shutdown, PostgreSQL docs,
server-shutdown; SIGQUIT if that takes too long) and its temp folder removed.

Run as `python pg_watchdog.py FD PARENT_PID ROOT`; it needs nothing but the standard library.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import time
from pathlib import Path

CHECK_SECONDS = 1.0  # how often the parent's pid is checked while the pipe stays open
FAST_SHUTDOWN_SECONDS = 10.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    return True


def postmaster_pid(data_dir: Path) -> int | None:
    """The server's pid from its lock file, if that process is still a postgres of `data_dir`."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError, PermissionError):
        return None
    if not command or not command[0].endswith(b"postgres") or str(data_dir).encode() not in command:
        return None  # the pid was reused by an unrelated process
    return pid


def stop_server(data_dir: Path) -> None:
    pid = postmaster_pid(data_dir)
    if pid is None:
        return
    for sig, wait in ((signal.SIGINT, FAST_SHUTDOWN_SECONDS), (signal.SIGQUIT, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def clean_up(root: Path) -> None:
    stop_server(root / "data")
    shutil.rmtree(root, ignore_errors=True)


def watch(read_fd: int, parent: int) -> None:
    """Return once the parent is gone: its end of the pipe closed, or its pid no longer live."""
    while True:
        ready, _, _ = select.select([read_fd], [], [], CHECK_SECONDS)
        if ready and os.read(read_fd, 1) == b"":
            return
        if not alive(parent) or os.getppid() != parent:
            return


def main(argv: list[str]) -> None:
    read_fd, parent, root = int(argv[0]), int(argv[1]), Path(argv[2])
    # A Ctrl-C in the terminal reaches the whole foreground group; this process must outlive
    # the test process, so it ignores the signals that end a test run.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    watch(read_fd, parent)
    clean_up(root)


if __name__ == "__main__":
    main(sys.argv[1:])
