"""Discord faults during jobs: the gateway drops and resumes, posts meet 429s and 5xx, the
channel turns 403, the interaction token expires. Each job still ends right, posted once."""

from __future__ import annotations

from pathlib import Path

from bot.core.jobs.models import JobState
from tests.e2e.harness import CHANNEL, GUILD, MEMBER, world
from tests.providersim import JobScript


async def test_gateway_drop_and_resume_mid_job(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=60, queue_positions=[3, 2, 1], run_seconds=60))
        await w.reply(await w.video("through a reconnect", provider="runcomfy"))
        await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING)
        await w.fake.drop_gateway()
        await w.fake.wait_for(lambda: w.fake.resumes >= 1, timeout=15)
        [result] = await w.wait_for_results(1, timeout=20)
        assert result.mentioned_user_ids == [MEMBER]
        await w.wait_for_state(JobState.DELIVERED)
        # Buttons and commands still work on the resumed session.
        assert "Used:** 1 of 5" in await w.reply(
            await w.fake.invoke("quota", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
        )


async def test_rate_limits_and_server_errors_on_posts_post_once(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=30, run_seconds=30))
        await w.reply(await w.video("rate limited", provider="runcomfy"))
        # The status edits and the result post meet a 429 (with Via) and two 502s.
        w.fake.fail_next("PATCH", rf"/channels/{CHANNEL}/messages/\d+$", status=429, times=2)
        w.fake.fail_next("POST", rf"/channels/{CHANNEL}/messages$", status=429, times=1)
        w.fake.fail_next(
            "POST",
            rf"/channels/{CHANNEL}/messages$",
            status=502,
            json={"message": "bad gateway"},
            times=2,
        )
        [result] = await w.wait_for_results(1, timeout=30)
        [job] = await w.wait_for_state(JobState.DELIVERED, timeout=30)
        assert job.result_message_id == result.id
        assert len(w.results()) == 1


async def test_a_channel_turning_403_fails_with_a_refund_and_the_bot_goes_on(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=30, run_seconds=30), JobScript(run_seconds=5))
        await w.reply(await w.video("blocked later", provider="runcomfy"))
        w.fake.deny_channel(CHANNEL)
        [job] = await w.wait_for_state(JobState.FAILED, timeout=20)
        assert job.refunded
        w.fake.allow_channel(CHANNEL)
        await w.reply(await w.video("allowed again", provider="runcomfy"))
        await w.wait_for_results(1)


async def test_posts_rate_limited_past_discord_py_own_retries_still_go_out(
    tmp_path: Path,
) -> None:
    """In a busy channel a post can meet more 429s than discord.py's five tries: the status
    post and the result are sent again when Discord says, never refused to the member."""
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=30, run_seconds=30))
        posts = rf"/channels/{CHANNEL}/messages$"
        w.fake.fail_next("POST", posts, status=429, times=7)
        reply = await w.reply(await w.video("busy channel", provider="runcomfy"), timeout=30)
        assert "on its way" in reply, reply
        assert not w.fake.failures  # all seven 429s were met
        [status] = w.statuses()
        w.fake.fail_next("POST", posts, status=429, times=7)
        [result] = await w.wait_for_results(1, timeout=40)
        assert not w.fake.failures
        [job] = await w.wait_for_state(JobState.DELIVERED, timeout=10)
        assert job.status_message_id == status.id
        assert job.result_message_id == result.id
        assert result.mentioned_user_ids == [MEMBER]
        assert len(w.results()) == 1
        assert "Used:** 1 of 5" in await w.reply(
            await w.fake.invoke("quota", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
        )
