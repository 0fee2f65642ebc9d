"""A job waiting for a provider slot, cancelled through another process (the member's click
reached the process holding their server's shard, not the one driving the job): the driving
process notices, its driver ends and the job's lease is released rather than renewed until a
restart. The real bot drives the job (fake Discord, provider simulator over HTTP); the other
process is a second runner on the same database with its own lease owner."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from bot.core.db import Database
from bot.core.jobs.contracts import CancelResult
from bot.core.jobs.models import Job, JobState, LedgerKind
from bot.core.jobs.runner import JobRunner
from tests.e2e.harness import MEMBER, World, world
from tests.providersim import JobScript


async def test_a_waiting_job_cancelled_through_another_process_ends_its_driver(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, max_concurrent_jobs=1) as w:
        bot = await w.start_bot()
        w.wavespeed.script(JobScript(run_seconds=1e6))
        await w.reply(await w.video("first", provider="wavespeed"))
        await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING)
        await w.reply(await w.video("second", provider="wavespeed"))
        second = next(j for j in w.jobs() if j.prompt == "second")
        await w.fake.wait_for(lambda: second.id in bot.runner.active_job_ids, timeout=30)
        await w.fake.wait_for(lambda: "waiting" in status_of(w, second.id).lower(), timeout=30)

        other = Database.connect(w.settings.database_url)
        try:
            elsewhere = JobRunner(
                db=other,
                providers=bot.runner.providers,
                downloader=bot.runner.downloader,
                config=bot.runner.config,
                presenter=bot.runner.presenter,  # posts with the same bot token
                owner="process-b",
            )
            outcome = await elsewhere.cancel(second.id, actor_id=MEMBER, moderator=False)
        finally:
            other.close()
        assert outcome is CancelResult.CANCELLED

        # The driving process lets go: its driver ends.
        await w.fake.wait_for(lambda: second.id not in bot.runner.active_job_ids, timeout=30)
        with Session(bot.db.engine) as session:
            row = session.get(Job, second.id)
            assert row is not None
            assert row.state is JobState.CANCELLED
        # Refunded once; the member sees it cancelled; nothing was sent for it.
        kinds = [e.kind for e in w.ledger() if e.job_id == second.id]
        assert kinds == [LedgerKind.RESERVE, LedgerKind.REFUND]
        assert "Cancelled" in status_of(w, second.id)
        assert len(w.wavespeed.submits()) == 1  # the first job's only


def status_of(w: World, job_id: str) -> str:
    """The text of the job's status message as the channel shows it now."""
    [job] = [j for j in w.jobs() if j.id == job_id]
    [status] = [m for m in w.channel_posts() if m.id == job.status_message_id]
    return status.text()
