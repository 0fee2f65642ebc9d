"""A status message Discord refuses, for a job another process took over while this one was
still setting it up: the job is not this process's to fail any more, so it is neither failed
nor refunded here, and the member is not told that nothing was charged."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col

from bot.core.jobs import fence
from bot.core.jobs.models import Job, JobState, LedgerKind
from tests.e2e.harness import CHANNEL, world

OTHER_PROCESS = "other-process"


async def test_a_refused_status_post_for_a_job_taken_over_meanwhile_leaves_it_to_its_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with world(tmp_path) as w:
        bot = await w.start_bot()
        poster = bot.actions.status
        post = poster.post

        def take_over(session: Session, job_id: str) -> None:
            # What another process's recovery pass writes when it claims the job.
            claim = fence.claim(OTHER_PROCESS, time.time() + 600)
            session.execute(update(Job).where(col(Job.id) == job_id).values(**claim))

        async def taken_over_then_posted(job: Job, image: Any) -> Any:
            # Set-up outlived the lease (a long pause): the job was claimed meanwhile.
            job_id = job.id
            await bot.db.run(lambda s: take_over(s, job_id))
            return await post(job, image)

        monkeypatch.setattr(poster, "post", taken_over_then_posted)
        # Discord: 403 Missing Permissions (code 50013) for the status message.
        w.fake.fail_next(
            "POST",
            rf"^/channels/{CHANNEL}/messages$",
            status=403,
            json={"message": "Missing Permissions", "code": 50013},
        )
        reply = await w.reply(await w.video("a quiet harbour at night"))
        assert "already under way and goes on" in reply
        assert "Nothing was charged" not in reply
        [job] = w.jobs()
        assert job.state is JobState.ACCEPTED  # not failed by a process that no longer holds it
        assert job.lease_owner == OTHER_PROCESS
        assert [entry.kind for entry in w.ledger()] == [LedgerKind.RESERVE]  # not refunded
