"""The learned poller's history through the real bot: delivered jobs leave their times."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.core.jobs.models import JobState
from bot.core.jobs.timings import JobTiming
from tests.e2e.harness import world
from tests.providersim import JobScript


async def test_delivered_jobs_leave_their_times_for_the_learned_poller(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        bot = await w.start_bot()
        # 40 simulated seconds of inference: 0.4 s of the bot's time at the simulator's 100x.
        w.wavespeed.script(JobScript(run_seconds=40.0), JobScript(run_seconds=40.0))
        for number in range(2):
            await w.reply(await w.video(f"timed {number}", provider="wavespeed"))
        delivered = await w.wait_for_state(JobState.DELIVERED, count=2)
        with Session(bot.db.engine) as session:
            rows = session.exec(select(JobTiming)).all()

    assert sorted(r.job_id for r in rows) == sorted(j.id for j in delivered)
    for row in rows:
        assert (row.provider, row.mode, row.duration, row.resolution) == (
            "wavespeed",
            "text",
            5,
            "1080P",
        )
        assert row.inference_seconds == pytest.approx(40.0)  # WaveSpeed's timings.inference
        assert 0.2 < row.run_seconds < 2.0
        assert row.submitted_at <= row.completed_at
        assert row.queue_seconds is None  # WaveSpeed reports no queue positions
