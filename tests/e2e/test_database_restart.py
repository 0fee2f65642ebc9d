"""PostgreSQL restarted while the bot works: every connection drops at once. The bot carries
on (`Database.run` runs a transaction cut before COMMIT again on a new connection): no job is
lost, none is submitted or posted twice, each is charged once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from bot.core.jobs.models import JobState, LedgerKind
from tests import testdb
from tests.e2e.harness import world
from tests.providersim import JobScript

pytestmark = pytest.mark.skipif(
    not testdb.on_postgresql(), reason="restarts the PostgreSQL server (REELBOT_TEST_DB=postgresql)"
)

# About 6 s at the provider (the simulators run 100 simulated seconds per real one).
AT_THE_PROVIDER = JobScript(queue_seconds=300, queue_positions=[2, 1], run_seconds=300)


async def test_a_database_restart_mid_job_loses_nothing_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, max_jobs_per_member=4) as w:
        await w.start_bot()
        w.runcomfy.default_script = AT_THE_PROVIDER
        w.wavespeed.default_script = AT_THE_PROVIDER
        before = [
            await w.video("before the restart, runcomfy", provider="runcomfy"),
            await w.video("before the restart, wavespeed", provider="wavespeed"),
        ]
        for interaction in before:
            assert "on its way" in await w.reply(interaction)
        await w.fake.wait_for(
            lambda: len(w.runcomfy.submits()) + len(w.wavespeed.submits()) == 2, timeout=15
        )

        await asyncio.to_thread(testdb.postgres_server().restart)  # every connection drops

        after = await w.video("after the restart", provider="runcomfy")
        assert "on its way" in await w.reply(after, timeout=30)
        results = await w.wait_for_results(3, timeout=60)
        await asyncio.sleep(1.0)  # nothing more may arrive
        jobs = await w.wait_for_state(JobState.DELIVERED, count=3, timeout=30)
        ledger = Counter((e.job_id, e.kind) for e in w.ledger())

    assert len(w.results()) == len(results) == 3
    sent = Counter(
        r.json["prompt"]
        for sim in (w.runcomfy, w.wavespeed)
        for r in sim.submits()
        if isinstance(r.json, dict)
    )
    assert sent == Counter(
        ["before the restart, runcomfy", "before the restart, wavespeed", "after the restart"]
    )
    for job in jobs:
        assert ledger[(job.id, LedgerKind.RESERVE)] == 1
        assert ledger[(job.id, LedgerKind.COMMIT)] == 1
        assert ledger[(job.id, LedgerKind.REFUND)] == 0
