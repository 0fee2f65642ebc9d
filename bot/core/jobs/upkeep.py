"""What the recovery loop tidies up after processes that died: temporary downloads nobody owns,
and status messages that never got to show their job's final state.

Both run at start-up (the recovery loop's first pass) and every few seconds after, so a job
that reached a final state by any path (its driver, a cancel from another process, a
moderator, the review deadline) loses its file and gets its final state shown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Collection
from pathlib import Path

from bot.core.db import Database
from bot.core.jobs import store
from bot.core.jobs.contracts import RunnerConfig
from bot.core.jobs.moves import JobMoves

log = logging.getLogger(__name__)

# Downloads are named `reelbot-{job_id}-{random}` (see `providers.download`).
_TEMP_NAME = re.compile(r"^reelbot-([0-9a-f]{32})-")
CATCH_UP_HOURS = 24.0  # older unfinished business is left to admins
# Extend reads the last frame of a posted clip from a copy named `reelbot-extend-{id}-{random}`
# (`bot.discord_layer.extend`), deleted a few seconds later; one older than this was left by a
# process that died in between (no live process keeps one that long).
EXTEND_PATTERN = "reelbot-extend-*"
STALE_EXTEND_SECONDS = 3600.0


def temp_files_by_job(directory: Path) -> dict[str, list[Path]]:
    """The temporary downloads in `directory`, by job id."""
    found: dict[str, list[Path]] = {}
    if not directory.is_dir():
        return found
    for path in directory.iterdir():
        match = _TEMP_NAME.match(path.name)
        if match is not None:
            found.setdefault(match.group(1), []).append(path)
    return found


def stale_extend_files(directory: Path, *, now: float, older_than: float) -> list[Path]:
    """Extend's copies in `directory` last written more than `older_than` seconds before
    `now` (wall-clock seconds, as file times are)."""
    stale: list[Path] = []
    if not directory.is_dir():
        return stale
    for path in directory.glob(EXTEND_PATTERN):
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile by its process
            if path.stat().st_mtime < now - older_than:
                stale.append(path)
    return stale


class Upkeep:
    def __init__(
        self,
        *,
        db: Database,
        moves: JobMoves,
        config: RunnerConfig,
        owner: str,
        clock: Callable[[], float],
        temp_dir: Path | None,
        driving: Callable[[], Collection[str]],
    ) -> None:
        self.db = db
        self.moves = moves
        self.config = config
        self.owner = owner
        self.clock = clock
        self.temp_dir = temp_dir
        self.driving = driving  # the ids of the jobs this process is driving now
        self._final_tries: set[str] = set()

    async def sweep_temp_files(self) -> int:
        """Remove downloads of jobs that no live process is working on. The directory is
        listed before the database is read, so a file created by a process that takes a job
        over after the listing is never touched."""
        directory = self.temp_dir
        if directory is None:
            return 0
        removed = await self._sweep_extend_copies(directory)
        found = await asyncio.to_thread(temp_files_by_job, directory)
        candidates = [job_id for job_id in found if job_id not in self.driving()]
        if not candidates:
            return removed
        now = self.clock()
        busy = await self.db.run(
            lambda s: store.leased_elsewhere(
                session=s, job_ids=candidates, owner=self.owner, now=now
            )
        )
        stray = [
            path
            for job_id in candidates
            if job_id not in busy and job_id not in self.driving()
            for path in found[job_id]
        ]

        def remove() -> None:
            for path in stray:
                path.unlink(missing_ok=True)

        if stray:
            await asyncio.to_thread(remove)
            log.info("removed %d temporary file(s) no process was using", len(stray))
        return removed + len(stray)

    async def _sweep_extend_copies(self, directory: Path) -> int:
        """Remove Extend's copies of posted clips that a dead process left behind."""

        def remove() -> int:
            stale = stale_extend_files(directory, now=time.time(), older_than=STALE_EXTEND_SECONDS)
            for path in stale:
                path.unlink(missing_ok=True)
            return len(stale)

        removed = await asyncio.to_thread(remove)
        if removed:
            log.info("removed %d stale Extend copy(ies) of a posted clip", removed)
        return removed

    async def show_unshown_finals(self) -> int:
        """Finished jobs whose status message may still show an earlier state (their process
        died before the edit): show the final state, once per job and process."""
        now = self.clock()
        tried = list(self._final_tries)
        claimed = await self.db.run(
            lambda s: store.claim_unshown_finals(
                session=s,
                owner=self.owner,
                now=now,
                until=now + self.config.lease_seconds,
                since=now - CATCH_UP_HOURS * 3600,
                skip=tried,
            )
        )
        shown = 0
        for job in claimed:
            if job.id in self._final_tries:
                continue
            self._final_tries.add(job.id)
            log.info("job %s: showing its final state (%s) after a restart", job.id, job.state)
            await self.moves.show(job)
            shown += 1
        return shown
