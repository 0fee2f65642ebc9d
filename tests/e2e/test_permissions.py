"""The permissions the bot needs are checked when a member asks, and the missing one named."""

from __future__ import annotations

from pathlib import Path

from bot.core.jobs.models import JobState
from tests.e2e.harness import CHANNEL, MEMBER, jpeg, world


def button(custom_ids: list[str], prefix: str) -> str:
    [custom_id] = [c for c in custom_ids if c.startswith(prefix)]
    return custom_id


async def test_without_read_message_history_nothing_is_started(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.deny_bot(CHANNEL, read_message_history=True)
        reply = await w.reply(await w.video("a lighthouse"))
        assert "I'm missing Read Message History" in reply
        assert w.jobs() == [] and w.ledger() == [] and w.channel_posts() == []


async def test_reroll_of_an_image_job_names_the_missing_permission(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.reply(await w.animate(jpeg(640, 480), provider="runcomfy"))
        [result] = await w.wait_for_results(1)
        await w.wait_for_state(JobState.DELIVERED)
        w.deny_bot(CHANNEL, read_message_history=True)
        click = await w.fake.click(
            result, button(result.custom_ids(), "reelbot:reroll:"), user_id=MEMBER
        )
        assert "I'm missing Read Message History" in await w.reply(click)
        assert len(w.jobs()) == 1
