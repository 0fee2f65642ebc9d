"""/forget erases the prompts of finished jobs only: an unfinished job still needs its prompt,
and a job whose request cannot be built fails with a refund, never as unknown."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from bot.core.jobs.models import Job, JobState, LedgerKind
from tests.e2e.harness import CHANNEL, GUILD, MEMBER, World, world
from tests.providersim import JobScript


async def forget(w: World) -> str:
    return await w.reply(
        await w.fake.invoke("forget", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
    )


async def test_forget_during_unfinished_jobs_keeps_them_working(tmp_path: Path) -> None:
    async with world(tmp_path, max_concurrent_jobs=1) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(run_seconds=5), JobScript(run_seconds=300), JobScript())
        await w.reply(await w.video("finished first", provider="runcomfy"))
        await w.wait_for_results(1)
        await w.reply(await w.video("running", provider="runcomfy"))
        await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING)
        await w.reply(await w.video("waiting", provider="runcomfy"))
        await w.wait_for_state(JobState.ACCEPTED)
        answer = await forget(w)
        assert "Erased the prompts of your 1 finished" in answer
        assert "2 unfinished" in answer
        await w.wait_for_state(JobState.DELIVERED, count=3, timeout=30)
        prompts = [s.json["prompt"] for s in w.runcomfy.submits()]
        assert prompts == ["finished first", "running", "waiting"]
        assert w.charged() == 3
        assert "Erased the prompts of your 3 finished" in await forget(w)
        assert [j.prompt for j in w.jobs()] == [None, None, None]


async def test_a_request_that_cannot_be_built_is_a_refunded_failure(tmp_path: Path) -> None:
    async with world(tmp_path, max_concurrent_jobs=1) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(run_seconds=300), JobScript())
        await w.reply(await w.video("running", provider="runcomfy"))
        await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING)
        await w.reply(await w.video("waiting", provider="runcomfy"))
        [waiting] = await w.wait_for_state(JobState.ACCEPTED)
        assert w.bot is not None
        with Session(w.bot.db.engine) as session:  # erased by an older version of the bot
            row = session.get(Job, waiting.id)
            assert row is not None
            row.prompt = None
            session.add(row)
            session.commit()
        [failed] = await w.wait_for_state(JobState.FAILED, timeout=30)
        assert failed.id == waiting.id and "nothing was sent" in (failed.error or "")
        assert [e.kind for e in w.ledger() if e.job_id == failed.id] == [
            LedgerKind.RESERVE,
            LedgerKind.REFUND,
        ]
        assert len(w.runcomfy.submits()) == 1
        assert not [j for j in w.jobs() if j.state is JobState.UNKNOWN]
