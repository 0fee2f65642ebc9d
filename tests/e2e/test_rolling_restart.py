"""A rolling restart stops the old process with SIGTERM (`bot.close()`, what the signal runs)
at any moment. A submit already on the wire then must not be cut off: the provider may create
the paid job anyway, and a job whose answer was lost can only be marked unknown. The stop
waits for the answer (briefly) and stores the provider's job id, so the next process polls it
and delivers it like any other."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core.jobs.models import JobState, LedgerKind
from tests import testdb
from tests.e2e.harness import world
from tests.providersim import Fault, JobScript


async def test_a_stop_during_a_submit_keeps_the_job_and_the_next_process_delivers_it(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=50, run_seconds=50))
        w.runcomfy.fault(Fault(kind="post", http_status=None, delay=1.5))  # a slow answer
        assert "on its way" in await w.reply(await w.video("mid-submit", provider="runcomfy"))
        await w.fake.wait_for(lambda: len(w.runcomfy.submits()) == 1, timeout=15)

        await w.stop_bot()  # the POST is on the wire
        [(state, provider_job_id, expires)] = testdb.rows(
            w.settings.database_url, "SELECT state, provider_job_id, lease_expires_at FROM job"
        )
        assert (state, expires) == ("submitted", 0.0)
        assert provider_job_id == next(iter(w.runcomfy.jobs))

        await w.start_bot()
        await w.wait_for_results(1, timeout=30)
        [job] = await w.wait_for_state(JobState.DELIVERED, timeout=15)
        await asyncio.sleep(0.5)  # nothing more may arrive
        assert len(w.results()) == 1
        assert len(w.runcomfy.submits()) == 1
        assert [e.kind for e in w.ledger() if e.job_id == job.id] == [
            LedgerKind.RESERVE,
            LedgerKind.COMMIT,
        ]
