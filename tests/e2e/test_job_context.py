"""What only the process that received an interaction knew is on the job: any process can post
with it, and the same interaction delivered twice starts one job, charged once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import Session, select

from bot.core.jobs.models import Job, JobState, LedgerKind
from tests.e2e.harness import (
    CHANNEL,
    GUILD,
    MEMBER,
    OTHER_CHANNEL,
    REVIEW_CHANNEL,
    World,
    world,
)
from tests.fakediscord import FakeInteraction
from tests.providersim import JobScript, tiny_mp4

ALREADY_ACKNOWLEDGED = 40060


async def video(w: World, prompt: str, *, locale: str = "en-US") -> FakeInteraction:
    options = [
        {"name": "prompt", "type": 3, "value": prompt},
        {"name": "provider", "type": 3, "value": "runcomfy"},
    ]
    return await w.fake.invoke(
        "video", options, guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER, locale=locale
    )


def assert_one_job_charged_once(w: World, interaction: FakeInteraction) -> None:
    [job] = w.jobs()
    assert job.interaction_id == interaction.id
    assert [(e.kind, e.amount) for e in w.ledger()] == [(LedgerKind.RESERVE, 1)]
    assert len(w.statuses()) == 1
    assert len(w.runcomfy.submits()) <= 1


async def test_the_job_stores_the_members_and_the_servers_locale(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.fake.guilds[GUILD].locale = "de"
        await w.start_bot()
        interaction = await video(w, "ein Fuchs", locale="pt-BR")
        assert "on its way" in await w.reply(interaction)
        [job] = w.jobs()
        assert (job.member_locale, job.guild_locale) == ("pt-BR", "de")
        assert job.interaction_id == interaction.id
        assert job.upload_limit == w.fake.upload_limit


async def test_a_command_delivered_again_later_starts_nothing_and_charges_nothing(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=1e6))
        interaction = await video(w, "once only")
        first = await w.reply(interaction)
        assert "on its way" in first

        await w.fake.redeliver(interaction)
        await w.fake.wait_for(lambda: bool(interaction.rejected_callbacks), timeout=5)
        await asyncio.sleep(0.3)  # room for a wrongly started second job to show up

        # Discord took no second response, and none was tried after the refusal: the member
        # still reads the first answer, alone.
        assert [c["type"] for c in interaction.callbacks] == [5]
        assert len(interaction.rejected_callbacks) == 1
        assert interaction.original is not None and interaction.original.content == first
        assert interaction.followups == [] or interaction.followups == [interaction.original]
        assert_one_job_charged_once(w, interaction)


async def test_two_deliveries_at_once_start_one_job_charged_once(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=1e6))
        interaction = await video(w, "twice at once")
        await w.fake.redeliver(interaction)

        assert "on its way" in await w.reply(interaction)
        await w.fake.wait_for(lambda: bool(interaction.rejected_callbacks), timeout=5)
        await asyncio.sleep(0.3)
        assert [c["type"] for c in interaction.callbacks] == [5]
        assert len(interaction.rejected_callbacks) == 1
        assert_one_job_charged_once(w, interaction)


async def test_a_process_that_never_saw_the_interaction_posts_with_its_upload_limit(
    tmp_path: Path,
) -> None:
    """The interaction said 30 kB; the process that posts starts later, when interactions say
    25 MiB. The 60 kB video must still become a link."""
    async with world(tmp_path) as w:
        w.fake.upload_limit = 30_000
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=1e6, run_seconds=5, video=tiny_mp4(60_000)))
        assert "on its way" in await w.reply(await video(w, "big one"))
        await w.wait_for_state(JobState.SUBMITTED)
        await w.stop_bot()

        w.fake.upload_limit = 25 * 1024 * 1024
        await w.start_bot()
        w.runcomfy.advance(1e6)
        [result] = await w.wait_for_results(1)
        assert result.files == []
        [job] = await w.wait_for_state(JobState.DELIVERED)
        assert job.upload_limit == 30_000
        assert job.video_url is not None and job.video_url in (result.content or "")
        assert "too large to attach" in (result.content or "")


async def test_a_review_message_is_settled_where_it_was_posted_after_the_channel_moved(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        await w.admin("review", "approval", enabled=True, channel=CHANNEL)
        assert "approval" in await w.reply(await video(w, "held"))
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 1)
        [review] = w.channel_posts(REVIEW_CHANNEL)
        [job] = w.jobs()
        assert (job.review_channel_id, job.review_message_id) == (REVIEW_CHANNEL, review.id)

        await w.admin("review", "channel", channel=OTHER_CHANNEL)
        assert w.bot is not None
        with Session(w.bot.db.engine) as session:
            stored = session.exec(select(Job)).one()
            stored.created_at -= 25 * 3600  # past the review deadline
            session.add(stored)
            session.commit()
        assert await w.bot.runner.expire_reviews() == 1
        await w.fake.wait_for(lambda: "Expired" in str(review.embeds))
        assert w.channel_posts(OTHER_CHANNEL) == []
