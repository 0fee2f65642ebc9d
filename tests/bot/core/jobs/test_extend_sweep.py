"""Extend's copy of a posted clip (`reelbot-extend-*`) that a killed process left behind is
removed at start-up; one a live process may be reading is left alone."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.e2e.harness import world


async def test_a_stale_extend_copy_is_swept_at_start_up(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        tmp = w.settings.work_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        stale = tmp / "reelbot-extend-0123456789ab-k2j4h5.mp4"
        fresh = tmp / "reelbot-extend-ba9876543210-x8c7v6.mp4"
        other = tmp / "someone-elses.mp4"
        for path in (stale, fresh, other):
            path.write_bytes(b"\x00" * 1000)
        long_ago = time.time() - 2 * 24 * 3600  # left by a process killed two days ago
        os.utime(stale, (long_ago, long_ago))
        os.utime(other, (long_ago, long_ago))

        await w.start_bot()
        await w.fake.wait_for(lambda: not stale.exists(), timeout=15)
        assert fresh.exists()  # may be in use by a live process
        assert other.exists()  # not the bot's
