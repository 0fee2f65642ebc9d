"""Threads and forum posts follow their parent channel's rules, end to end."""

from __future__ import annotations

from pathlib import Path

from bot.core.jobs.models import JobState
from tests.e2e.harness import (
    CHANNEL,
    FORUM,
    FORUM_POST,
    MEMBER,
    OTHER_CHANNEL,
    REVIEW_CHANNEL,
    THREAD,
    VOICE,
    world,
)


async def test_a_thread_of_an_approval_channel_needs_approval(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        await w.admin("review", "approval", enabled=True, channel=CHANNEL)
        reply = await w.reply(await w.video("in a thread", provider="runcomfy", channel=THREAD))
        assert "waiting for a moderator's approval" in reply
        [job] = w.jobs()
        assert job.state is JobState.PENDING_REVIEW and job.channel_id == THREAD
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 1)
        assert w.runcomfy.submits() == [] and w.ledger() == []


async def test_a_thread_of_an_allowed_channel_is_allowed(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("channels", "allow", channel=CHANNEL)
        reply = await w.reply(await w.video("in a thread", provider="runcomfy", channel=THREAD))
        assert "on its way" in reply
        await w.fake.wait_for(lambda: len(w.results(THREAD)) == 1, timeout=15)
        assert w.results(CHANNEL) == []
        # A thread of another channel is not allowed by it.
        w.fake.guilds[4100].add_thread(4299, parent_id=OTHER_CHANNEL)
        refused = await w.reply(await w.video("elsewhere", channel=4299))
        assert f"Use <#{CHANNEL}>" in refused


async def test_forum_and_voice_channels_can_be_allowed(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        assert f"<#{FORUM}>" in await w.admin("channels", "allow", channel=FORUM)
        assert f"<#{VOICE}>" in await w.admin("channels", "allow", channel=VOICE)
        reply = await w.reply(
            await w.video("a forum post", provider="runcomfy", channel=FORUM_POST)
        )
        assert "on its way" in reply
        await w.fake.wait_for(lambda: len(w.results(FORUM_POST)) == 1, timeout=15)
        assert w.results(FORUM_POST)[0].mentioned_user_ids == [MEMBER]


async def test_in_a_thread_send_messages_in_threads_is_what_counts(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.deny_bot(CHANNEL, send_messages_in_threads=True)
        reply = await w.reply(await w.video("in a thread", channel=THREAD))
        assert "Send Messages In Threads" in reply
        assert w.jobs() == [] and w.channel_posts(THREAD) == []
        # The other way round: Send Messages denied on the parent, threads still work.
        w.deny_bot(CHANNEL, send_messages=True)
        reply = await w.reply(await w.video("in a thread", provider="runcomfy", channel=THREAD))
        assert "on its way" in reply
        await w.fake.wait_for(lambda: len(w.results(THREAD)) == 1, timeout=15)
