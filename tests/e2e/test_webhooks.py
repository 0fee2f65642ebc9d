"""WaveSpeed callbacks through the real bot: the simulator calls back (signed as WaveSpeed
documents) and the bot's listener wakes the job's poller, which asks WaveSpeed at once.
Polling stays the safety net; a callback never decides an outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bot.core.jobs.models import JobState
from tests.e2e.harness import World, world
from tests.e2e.ports import free_port
from tests.providersim import JobScript, ProviderSim, signed_headers

SCALE = 100.0  # the simulators' simulated seconds per real second


def result_gets(sim: ProviderSim) -> list[float]:
    """Real seconds (since the simulator started) of each result check."""
    return [r.time / SCALE for r in sim.requests if r.kind == "result"]


@asynccontextmanager
async def webhook_world(tmp: Path, *, safety: float) -> AsyncIterator[tuple[World, str]]:
    port = free_port()
    async with world(
        tmp,
        webhook_public_url=f"http://127.0.0.1:{port}",
        webhook_listen=f"127.0.0.1:{port}",
        webhook_safety_interval=safety,
    ) as w:
        await w.start_bot()
        yield w, f"http://127.0.0.1:{port}/webhooks/wavespeed"


async def test_a_callback_makes_the_owner_fetch_the_result_at_once(tmp_path: Path) -> None:
    async with webhook_world(tmp_path, safety=30.0) as (w, _url):
        w.wavespeed.script(JobScript(queue_seconds=5, run_seconds=20))
        await w.video("a lighthouse", provider="wavespeed")
        await w.wait_for_results(1, timeout=10)
        await w.wait_for_state(JobState.DELIVERED)
        [delivery] = w.wavespeed.webhooks
        assert delivery.status == 204  # accepted: the poller was woken
        gets = result_gets(w.wavespeed)
        # The first quick check, then the one the callback triggered; no 30 s safety poll.
        assert len(gets) == 2
        woken = gets[-1] - delivery.sent_at / SCALE
        assert 0 <= woken < 0.2, f"fetched {woken:.3f} s after the callback"


async def test_a_lost_callback_is_covered_by_polling(tmp_path: Path) -> None:
    async with webhook_world(tmp_path, safety=1.0) as (w, _url):
        w.wavespeed.drop_webhooks(1)
        w.wavespeed.script(JobScript(queue_seconds=5, run_seconds=20))
        started = time.monotonic()
        await w.video("a lighthouse", provider="wavespeed")
        await w.wait_for_results(1, timeout=10)
        await w.wait_for_state(JobState.DELIVERED)

        [delivery] = w.wavespeed.webhooks
        assert delivery.dropped
        # Noticed by the safety poll, one interval after the first check.
        assert time.monotonic() - started >= 1.0


async def test_forged_stale_replayed_and_unknown_callbacks_change_nothing(
    tmp_path: Path,
) -> None:
    async with webhook_world(tmp_path, safety=30.0) as (w, url):
        w.wavespeed.script(JobScript(queue_seconds=5, run_seconds=5000))  # 50 s of real time
        await w.video("a lighthouse", provider="wavespeed")
        await w.wait_for_state(JobState.RUNNING, JobState.SUBMITTED)
        [sim_job] = w.wavespeed.jobs.values()
        await w.fake.wait_for(lambda: len(result_gets(w.wavespeed)) >= 1, timeout=5)
        secret = w.wavespeed.webhook_secret
        body = f'{{"id":"{sim_job.id}","status":"completed","outputs":["x"]}}'.encode()
        now = int(time.time())

        async def send(headers: dict[str, str], payload: bytes = body) -> int:
            async with httpx.AsyncClient() as client:
                answer = await client.post(url, content=payload, headers=headers)
            await asyncio.sleep(0.3)  # time for a wrongly woken poller to ask
            return answer.status_code

        before = len(result_gets(w.wavespeed))
        forged = signed_headers("whsec_not-the-secret", body, webhook_id="m1", timestamp=now)
        stale = signed_headers(secret, body, webhook_id="m2", timestamp=now - 400)
        unsigned = {"Content-Type": "application/json"}
        other_job = b'{"id":"not-a-job-of-ours","status":"completed"}'
        unknown = signed_headers(secret, other_job, webhook_id="m3", timestamp=now)
        assert await send(forged) == 401
        assert await send(stale) == 401
        assert await send(unsigned) == 401
        assert await send(unknown, other_job) == 404
        assert len(result_gets(w.wavespeed)) == before  # nobody was woken

        # A genuine callback wakes the poller, which asks WaveSpeed: the job is still running,
        # so nothing changes even though the callback said "completed".
        valid = signed_headers(secret, body, webhook_id="m4", timestamp=now)
        assert await send(valid) == 204
        assert len(result_gets(w.wavespeed)) == before + 1
        # The same callback again is a replay: dropped.
        assert await send(valid) == 200
        assert len(result_gets(w.wavespeed)) == before + 1

        [job] = w.jobs()
        assert job.state in (JobState.RUNNING, JobState.SUBMITTED)
        assert w.results() == []
