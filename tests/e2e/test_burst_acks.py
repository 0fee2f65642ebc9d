"""A burst of /video through the real bot: every command acknowledged and accepted, and no
command left counted as waiting for its acknowledgement (`bot.discord_layer.acks`), whichever
way it ended: deferred and worked on, answered directly, or failed before its callback. (The
order of work the counting buys, acknowledgements first, needs the bot in a process of its own
to show: `benchmarks/ack_floor.py`.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.harness import CHANNEL, GUILD, world
from tests.providersim import JobScript

BURST = 40
FIRST = 9_100_000


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
