"""Approval mode keeps a request private until a moderator approves it: the member gets a
private acknowledgement, the moderators see the prompt and the image, and only an approved
request appears in the channel. No refusal leaves a pending job behind."""

from __future__ import annotations

from pathlib import Path

from bot.core.jobs.models import JobState, LedgerKind
from tests.e2e.harness import (
    CHANNEL,
    MEMBER,
    MODERATOR,
    REVIEW_CHANNEL,
    World,
    jpeg,
    world,
)
from tests.fakediscord import FakeMessage


def button(message: FakeMessage, prefix: str) -> str:
    [custom_id] = [c for c in message.custom_ids() if c.startswith(prefix)]
    return custom_id


async def approval_mode(w: World) -> None:
    await w.admin("review", "channel", channel=REVIEW_CHANNEL)
    await w.admin("review", "approval", enabled=True, channel=CHANNEL)


def dms(w: World, user: int = MEMBER) -> list[FakeMessage]:
    channel = int(w.fake.dm_channel_for(user)["id"])
    return w.fake.channel_messages(channel)


async def test_a_held_request_is_private_until_approved(tmp_path: Path) -> None:
    image = jpeg(640, 480)
    async with world(tmp_path) as w:
        await w.start_bot()
        await approval_mode(w)
        interaction = await w.animate(
            image,
            "the boat sails",
            filename="boat.jpg",
            content_type="image/jpeg",
            provider="runcomfy",
        )
        reply = await w.reply(interaction)
        assert "waiting for a moderator's approval" in reply
        assert interaction.original is not None and interaction.original.ephemeral
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 1)
        # Nothing public yet: not the prompt, not the image.
        assert w.channel_posts(CHANNEL) == []
        [review] = w.channel_posts(REVIEW_CHANNEL)
        assert "the boat sails" in review.embeds[0]["description"]
        assert "RunComfy" in str(review.embeds[0]["fields"])
        [shown] = review.files
        assert shown.data == image
        assert review.embeds[0]["image"]["url"] == f"attachment://{shown.filename}"

        click = await w.fake.click(review, button(review, "reelbot:approve:"), user_id=MODERATOR)
        assert "Approved" in await w.reply(click)
        [status] = w.statuses()
        # The member is told: the status message, when posted, pinged them and no one else
        # (later edits send no pings).
        posted = status.payload
        assert f"<@{MEMBER}>" in posted["content"] and "approved" in posted["content"]
        assert [int(u) for u in posted["allowed_mentions"]["users"]] == [MEMBER]
        assert posted["allowed_mentions"]["parse"] == []
        [hosted] = status.files
        assert hosted.data == image
        [result] = await w.wait_for_results(1)
        assert result.mentioned_user_ids == [MEMBER]
        [submit] = w.runcomfy.submits()
        sent = submit.json["image_urls"][0]
        assert sent.split("?")[0] == status.attachments[0]["url"]
        [job] = await w.wait_for_state(JobState.DELIVERED)
        assert (job.image_url or "").split("?")[0] == sent.split("?")[0]
        assert [e.kind for e in w.ledger()] == [LedgerKind.RESERVE, LedgerKind.COMMIT]


async def test_a_rejected_request_is_never_public_and_the_member_is_told(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await approval_mode(w)
        await w.reply(await w.video("needs a look", provider="runcomfy"))
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 1)
        [review] = w.channel_posts(REVIEW_CHANNEL)
        click = await w.fake.click(review, button(review, "reelbot:reject:"), user_id=MODERATOR)
        await w.fake.wait_for(lambda: click.modal is not None)
        submitted = await w.fake.submit_modal(click, {"reelbot-reject-reason": "too gory"})
        assert "Rejected" in await w.reply(submitted)
        await w.fake.wait_for(lambda: len(dms(w)) == 1)
        [told] = dms(w)
        assert "too gory" in (told.content or "") and "Nothing was charged" in (told.content or "")
        assert w.channel_posts(CHANNEL) == []
        assert w.ledger() == [] and w.runcomfy.submits() == []


async def test_a_refused_post_leaves_no_pending_job(tmp_path: Path) -> None:
    async with world(tmp_path, max_jobs_per_member=1) as w:
        await w.start_bot()
        await approval_mode(w)
        # The member's channel refuses the bot's next post (a permission changed meanwhile).
        w.fake.fail_next(
            "POST",
            rf"^/channels/{CHANNEL}/messages$",
            status=403,
            json={"code": 50013, "message": "Missing Permissions"},
        )
        await w.reply(await w.video("first", provider="runcomfy"))
        # No job may wait for review without a review message a moderator can act on.
        assert all(
            j.review_message_id is not None for j in w.jobs() if j.state is JobState.PENDING_REVIEW
        )
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 1)
        [review] = w.channel_posts(REVIEW_CHANNEL)
        click = await w.fake.click(review, button(review, "reelbot:approve:"), user_id=MODERATOR)
        answer = await w.reply(click)
        assert f"I can't post in <#{CHANNEL}>" in answer and "rejected" in answer
        [job] = w.jobs()
        assert job.state is JobState.REJECTED and w.ledger() == []
        assert w.runcomfy.submits() == []
        # It no longer counts against the member's one unfinished job.
        again = await w.reply(await w.video("second", provider="runcomfy"))
        assert "waiting for a moderator's approval" in again
