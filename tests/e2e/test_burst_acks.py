"""A burst of /video through the real bot: every command acknowledged and accepted, and no
command left counted as waiting for its acknowledgement (`bot.discord_layer.acks`), whichever
way it ended: deferred and worked on, answered directly, or failed before its callback. (The
order of work the counting buys, acknowledgements first, needs the bot in a process of its own
to show: `benchmarks/ack_floor.py`.)"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.discord_layer.client import GC_THRESHOLDS
from tests.e2e.harness import CHANNEL, GUILD, world
from tests.providersim import JobScript

BURST = 40
FIRST = 9_100_000


@pytest.fixture
def default_gc_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("default_gc_thresholds")
async def test_a_burst_is_acknowledged_and_nothing_is_left_waiting(tmp_path: Path) -> None:
    async with world(tmp_path, max_jobs_per_member=5, max_concurrent_jobs=200) as w:
        w.runcomfy.script(JobScript(run_seconds=1e6))
        # 40 status posts in one channel would take 40 s under its rate limit
        # (tests/e2e/test_status_load.py covers that); this test is about the acknowledgements.
        w.fake.rate_limits.enabled = False
        members = [FIRST + i for i in range(BURST)]
        for uid in members:
            w.fake.guilds[GUILD].add_member(uid, name=f"burst{uid - FIRST}")
        bot = await w.start_bot()
        # Set by the bot once started: the collector's young passes run far less often.
        assert gc.get_threshold() == GC_THRESHOLDS

        burst = await asyncio.gather(
            *(w.video(f"burst {i}", user=uid, provider="runcomfy") for i, uid in enumerate(members))
        )
        answers = await asyncio.gather(*(w.reply(i, timeout=30) for i in burst))
        assert all("on its way" in answer for answer in answers), answers
        assert all(i.acknowledged_at is not None for i in burst)
        assert len([j for j in w.jobs() if (j.prompt or "").startswith("burst ")]) == BURST
        assert bot.acks.unanswered == 0

        quota = await w.fake.invoke("quota", [], guild_id=GUILD, channel_id=CHANNEL, user_id=FIRST)
        await w.reply(quota)
        # Answered directly: counted out on completion, which discord.py dispatches once the
        # callback has returned (just after the answer the fake has seen).
        await w.fake.wait_for(lambda: bot.acks.unanswered == 0, timeout=10)
        too_long = await w.video("x" * 801, user=FIRST + 1, provider="runcomfy")
        assert "800" in await w.reply(too_long)
        # Refused by its option check: counted out on error.
        await w.fake.wait_for(lambda: bot.acks.unanswered == 0, timeout=10)
