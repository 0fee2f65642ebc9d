"""Community server controls, end to end: every rule an admin can set from Discord."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.core.audit import AuditAction, AuditEntry
from bot.core.guild.models import GuildConfig
from bot.core.jobs.models import JobState, LedgerKind
from tests.e2e.harness import (
    ADMIN,
    AUDIT_CHANNEL,
    CHANNEL,
    GUILD,
    MEMBER,
    MODERATOR,
    NSFW_CHANNEL,
    OTHER_CHANNEL,
    OTHER_MEMBER,
    OTHER_ROLE,
    REVIEW_CHANNEL,
    ROLE,
    World,
    world,
)
from tests.fakediscord import FakeMessage
from tests.providersim import JobScript


def audit(w: World) -> list[AuditEntry]:
    assert w.bot is not None
    with Session(w.bot.db.engine) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())  # type: ignore[arg-type]


def actions(w: World) -> list[AuditAction]:
    return [e.action for e in audit(w)]


def review_posts(w: World) -> list[FakeMessage]:
    return w.channel_posts(REVIEW_CHANNEL)


def button(message: FakeMessage, prefix: str) -> str:
    [custom_id] = [c for c in message.custom_ids() if c.startswith(prefix)]
    return custom_id


async def quota(w: World, user: int = MEMBER) -> str:
    return await w.reply(
        await w.fake.invoke("quota", [], guild_id=GUILD, channel_id=CHANNEL, user_id=user)
    )


async def test_admin_commands_are_refused_server_side_for_members(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        for path, options in (
            (("settings",), {}),
            (("channels", "allow"), {"channel": OTHER_CHANNEL}),
            (("members", "grant"), {"member": MEMBER, "units": 50}),
        ):
            answer = await w.admin(*path, user=MEMBER, **options)
            assert "Only members with the Manage Server permission" in answer
        assert w.bot is not None
        with Session(w.bot.db.engine) as session:
            assert session.exec(select(GuildConfig)).all() == []
        assert all(e.kind is not LedgerKind.GRANT for e in w.ledger())


async def test_settings_show_the_configuration(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("channels", "allow", channel=CHANNEL)
        await w.admin("budget", units=40)
        shown = await w.admin("settings")
        assert f"<#{CHANNEL}>" in shown and "0/40 units today" in shown


async def test_a_wrong_channel_names_the_allowed_ones_and_costs_nothing(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("channels", "allow", channel=OTHER_CHANNEL)
        reply = await w.reply(await w.video("a boat"))
        assert reply == f"Videos can't be made in this channel. Use <#{OTHER_CHANNEL}>."
        assert w.jobs() == [] and w.charged() == 0
        refused = [e for e in audit(w) if e.action is AuditAction.REFUSED]
        assert refused[0].prompt == "a boat" and refused[0].reason.startswith("channel:")  # type: ignore[union-attr]
        assert "on its way" in await w.reply(await w.video("a boat", channel=OTHER_CHANNEL))


async def test_age_restricted_only(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("channels", "nsfw-only", enabled=True)
        assert "age-restricted" in await w.reply(await w.video("x"))
        assert "on its way" in await w.reply(await w.video("x", channel=NSFW_CHANNEL))


async def test_a_member_without_the_role_is_refused(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("roles", "allow", role=OTHER_ROLE)
        reply = await w.reply(await w.video("x"))
        assert reply == f"You need one of these roles to make videos: <@&{OTHER_ROLE}>."
        await w.admin("roles", "allow", role=ROLE)
        assert "on its way" in await w.reply(await w.video("x"))
        assert "You need one of these roles" in await w.reply(await w.video("x", user=OTHER_MEMBER))


async def test_a_blocked_member_sees_the_reason(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("members", "block", member=MEMBER, reason="spamming the channel")
        reply = await w.reply(await w.video("x"))
        assert reply == "You can't make videos on this server: spamming the channel."
        await w.admin("members", "unblock", member=MEMBER)
        assert "on its way" in await w.reply(await w.video("x"))


async def test_blocked_words_match_whole_words_in_any_case_or_accent(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        assert "Added word rule #1" in await w.admin("filter", "add-word", word="café")
        reply = await w.reply(await w.video("A CAFE at night"))
        assert "contains something this server doesn't allow" in reply and "CAFE" in reply
        assert "on its way" in await w.reply(await w.video("a cafeteria at night"))
        assert w.charged() == 1
        reason = next(e.reason for e in audit(w) if e.action is AuditAction.REFUSED)
        assert reason is not None and reason.startswith("prompt:")


async def test_a_pathological_regex_returns_in_bounded_time(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("filter", "add-regex", pattern="(x+x+)+y")
        started = time.monotonic()
        reply = await w.reply(await w.video("x" * 700))
        assert time.monotonic() - started < 3.0
        assert "doesn't allow" in reply
        assert "on its way" in await w.reply(await w.video("a calm sea"))


async def test_invalid_rules_and_misconfigurations_are_explained(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        assert "can't be used" in await w.admin("filter", "add-regex", pattern="(unclosed")
        assert "Set a review channel first" in await w.admin("nsfw-policy", policy="review")
        assert "Set a review channel first" in await w.admin("review", "approval", enabled=True)


async def test_tier_limits_on_duration_resolution_and_quota(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin(
            "tiers",
            "set",
            role=ROLE,
            limit=3,
            max_duration=5,
            max_resolution="720P",
            window="daily",
        )
        reply = await w.reply(await w.video("x", provider="runcomfy", duration=10))
        assert reply == "Your tier allows clips of up to 5 s; choose a shorter duration."
        from tests.e2e.harness import jpeg

        reply = await w.reply(
            await w.animate(jpeg(640, 480), provider="runcomfy", resolution="1080P")
        )
        assert reply == "Your tier allows up to 720P; choose a lower resolution."
        assert w.charged() == 0
        shown = await quota(w)
        assert "of 3 units today (UTC)" in shown and "clips up to 5 s at up to 720P" in shown
        # The most generous tier wins.
        await w.admin("tiers", "set", role=OTHER_ROLE, limit=1)
        await w.admin("tiers", "set", role=GUILD, limit=2)  # @everyone
        assert "of 3 units" in await quota(w)


async def test_the_server_budget_runs_out(tmp_path: Path) -> None:
    async with world(tmp_path, max_jobs_per_member=5) as w:
        await w.start_bot()
        await w.admin("budget", units=2)
        assert "on its way" in await w.reply(await w.video("one", duration=10, provider="runcomfy"))
        reply = await w.reply(await w.video("two", user=OTHER_MEMBER))
        assert "This server has used its daily video budget (2 units)" in reply
        assert w.charged(OTHER_MEMBER) == 0


async def _approval_world_request(w: World) -> FakeMessage:
    await w.admin("review", "channel", channel=REVIEW_CHANNEL)
    await w.admin("review", "approval", enabled=True, channel=CHANNEL)
    reply = await w.reply(await w.video("needs a look", provider="runcomfy"))
    assert "waiting for a moderator's approval" in reply
    await w.fake.wait_for(lambda: len(review_posts(w)) == 1)
    [job] = w.jobs()
    assert job.state is JobState.PENDING_REVIEW
    assert w.ledger() == [] and w.runcomfy.submits() == []
    assert w.statuses() == []  # nothing public before a moderator has seen it
    return review_posts(w)[0]


@pytest.mark.parametrize("restart", [False, True], ids=["live", "after-restart"])
async def test_approve_before_and_after_a_restart(tmp_path: Path, restart: bool) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        review = await _approval_world_request(w)
        if restart:
            await w.stop_bot()
            await w.start_bot()
        denied = await w.fake.click(
            review, button(review, "reelbot:approve:"), user_id=OTHER_MEMBER
        )
        assert "Only moderators" in await w.reply(denied)
        click = await w.fake.click(review, button(review, "reelbot:approve:"), user_id=MODERATOR)
        assert "Approved" in await w.reply(click)
        [result] = await w.wait_for_results(1)
        assert result.mentioned_user_ids == [MEMBER]
        [job] = await w.wait_for_state(JobState.DELIVERED)
        assert job.moderator_id == MODERATOR
        assert [e.kind for e in w.ledger()] == [LedgerKind.RESERVE, LedgerKind.COMMIT]
        assert "Approved by" in str(review.embeds) and review.custom_ids() == []
        job_actions = [a for a in actions(w) if a is not AuditAction.SETTINGS]
        assert job_actions == [AuditAction.HELD, AuditAction.APPROVED, AuditAction.DELIVERED]


@pytest.mark.parametrize("restart", [False, True], ids=["live", "after-restart"])
async def test_reject_with_a_reason_before_and_after_a_restart(
    tmp_path: Path, restart: bool
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        review = await _approval_world_request(w)
        if restart:
            await w.stop_bot()
            await w.start_bot()
        click = await w.fake.click(review, button(review, "reelbot:reject:"), user_id=MODERATOR)
        await w.fake.wait_for(lambda: click.modal is not None)
        submitted = await w.fake.submit_modal(click, {"reelbot-reject-reason": "too gory"})
        assert "Rejected" in await w.reply(submitted)
        [job] = await w.wait_for_state(JobState.REJECTED)
        assert job.error == "rejected by a moderator: too gory"
        assert w.statuses() == []
        dm = int(w.fake.dm_channel_for(MEMBER)["id"])
        await w.fake.wait_for(lambda: len(w.fake.channel_messages(dm)) == 1)
        [told] = w.fake.channel_messages(dm)
        assert "too gory" in (told.content or "") and "Nothing was charged" in (told.content or "")
        assert w.ledger() == [] and w.runcomfy.submits() == []
        rejected = [e for e in audit(w) if e.action is AuditAction.REJECTED]
        assert rejected[0].moderator_id == MODERATOR


async def test_pending_reviews_expire(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        review = await _approval_world_request(w)
        assert w.bot is not None
        with Session(w.bot.db.engine) as session:
            from bot.core.jobs.models import Job

            job = session.exec(select(Job)).one()
            job.created_at -= 25 * 3600
            session.add(job)
            session.commit()
        assert await w.bot.runner.expire_reviews() == 1
        [job] = w.jobs()
        assert job.state is JobState.REJECTED and "in time" in (job.error or "")
        await w.fake.wait_for(lambda: "Expired" in str(review.embeds))
        dm = int(w.fake.dm_channel_for(MEMBER)["id"])
        [told] = w.fake.channel_messages(dm)
        assert "in time" in (told.content or "")


async def test_flagged_video_policies_in_a_normal_channel(tmp_path: Path) -> None:
    flagged = JobScript(run_seconds=5, nsfw=True)
    async with world(tmp_path) as w:
        await w.start_bot()
        # Default: behind a spoiler.
        w.wavespeed.script(flagged)
        await w.reply(await w.video("spicy", provider="wavespeed"))
        [result] = await w.wait_for_results(1)
        assert result.files[0].filename.startswith("SPOILER_")
        # In an age-restricted channel: posted openly.
        w.wavespeed.script(flagged)
        await w.reply(await w.video("spicy", provider="wavespeed", channel=NSFW_CHANNEL))
        await w.fake.wait_for(lambda: len(w.results(NSFW_CHANNEL)) == 1)
        assert not w.results(NSFW_CHANNEL)[0].files[0].filename.startswith("SPOILER_")
        # Discard: nothing posted, quota given back.
        await w.admin("nsfw-policy", policy="discard")
        w.wavespeed.script(flagged)
        await w.reply(await w.video("spicy", provider="wavespeed"))
        await w.wait_for_state(JobState.FAILED)
        assert len(w.results()) == 1
        assert w.charged() == 2


async def test_flagged_video_held_for_review_then_released_or_discarded(tmp_path: Path) -> None:
    async with world(tmp_path, max_jobs_per_member=3) as w:
        await w.start_bot()
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        await w.admin("nsfw-policy", policy="review")
        w.wavespeed.script(JobScript(run_seconds=5, nsfw=True), JobScript(run_seconds=5, nsfw=True))
        await w.reply(await w.video("first", provider="wavespeed"))
        await w.reply(await w.video("second", provider="wavespeed"))
        await w.fake.wait_for(lambda: len(review_posts(w)) == 2, timeout=15)
        assert w.results() == []
        first, second = review_posts(w)
        assert first.files[0].filename.startswith("SPOILER_")
        assert {j.state for j in w.jobs()} == {JobState.HELD}
        release = await w.fake.click(first, button(first, "reelbot:release:"), user_id=MODERATOR)
        assert "Released" in await w.reply(release)
        [result] = await w.wait_for_results(1)
        assert result.files[0].filename.startswith("SPOILER_")
        discard = await w.fake.click(second, button(second, "reelbot:discard:"), user_id=MODERATOR)
        assert "Discarded" in await w.reply(discard)
        # The result is posted first, then the job is recorded as delivered.
        await w.fake.wait_for(
            lambda: sorted(j.state.value for j in w.jobs()) == ["delivered", "failed"],
            timeout=15,
        )
        assert w.charged() == 1


async def test_delete_clicked_before_the_result_is_recorded(tmp_path: Path) -> None:
    """A result is posted, then recorded: a click in between waits for the record instead of
    calling the member's own button a stranger's."""
    async with world(tmp_path) as w:
        await w.start_bot()
        # The post is made, its answer held: the bot has not learned the message's id yet.
        hold = w.fake.hold_next(
            "POST",
            rf"^/channels/{CHANNEL}/messages$",
            when=lambda body: "reelbot:delete:" in json.dumps(body),
            after=True,
        )
        await w.reply(await w.video("quick hands", provider="runcomfy"))
        await hold.wait_arrived(timeout=60)
        [result] = w.results()
        assert [j.result_message_id for j in w.jobs()] == [None]
        mine = await w.fake.click(result, button(result, "reelbot:delete:"), user_id=MEMBER)
        await w.fake.wait_for(lambda: mine.deferred, timeout=15)
        hold.release()  # the retried post finds the first message by its nonce
        assert "Deleted" in await w.reply(mine, timeout=30)
        assert w.fake.messages[result.id].deleted
        assert [(j.state, j.result_message_id) for j in w.jobs()] == [
            (JobState.DELIVERED, result.id)
        ]
        assert w.results() == []


async def test_delete_button_and_forgetting_prompts(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.reply(await w.video("remember me", provider="runcomfy"))
        [result] = await w.wait_for_results(1)
        delete_id = button(result, "reelbot:delete:")
        other = await w.fake.click(result, delete_id, user_id=OTHER_MEMBER)
        assert "Only the member who asked" in await w.reply(other)
        assert w.results() == [result]
        mine = await w.fake.click(result, delete_id, user_id=MEMBER)
        assert "Deleted" in await w.reply(mine)
        assert w.fake.messages[result.id].deleted
        forget = await w.fake.invoke(
            "forget", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER
        )
        assert "Erased the prompts of your 1 finished" in await w.reply(forget)
        assert [j.prompt for j in w.jobs()] == [None]
        assert all(e.prompt is None for e in audit(w) if e.user_id == MEMBER)
        assert w.charged() == 1


async def test_every_outcome_is_audited_in_the_database_and_the_audit_channel(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, max_jobs_per_member=5) as w:
        await w.start_bot()
        await w.admin("audit-channel", channel=AUDIT_CHANNEL)
        await w.admin("filter", "add-word", word="forbidden")
        w.runcomfy.script(JobScript(run_seconds=5), JobScript(run_seconds=5, outcome="failed"))
        await w.reply(await w.video("fine", provider="runcomfy"))
        await w.wait_for_results(1)
        await w.reply(await w.video("doomed", provider="runcomfy"))
        await w.wait_for_state(JobState.FAILED)
        await w.reply(await w.video("forbidden thing"))
        w.runcomfy.script(JobScript(queue_seconds=1e6, queue_positions=[3]))
        await w.reply(await w.video("cancel me", provider="runcomfy"))
        await w.wait_for_state(JobState.SUBMITTED)
        status = w.statuses()[-1]
        cancel = await w.fake.click(status, button(status, "reelbot:cancel:"), user_id=MODERATOR)
        assert "Cancelled" in await w.reply(cancel)
        seen = set(actions(w))
        assert {
            AuditAction.ACCEPTED,
            AuditAction.DELIVERED,
            AuditAction.FAILED,
            AuditAction.REFUSED,
            AuditAction.CANCELLED,
            AuditAction.SETTINGS,
        } <= seen
        cancelled = next(e for e in audit(w) if e.action is AuditAction.CANCELLED)
        assert cancelled.moderator_id == MODERATOR and cancelled.prompt == "cancel me"
        delivered = next(e for e in audit(w) if e.action is AuditAction.DELIVERED)
        assert (
            delivered.provider == "runcomfy"
            and delivered.cost == 1
            and "seed" in (delivered.options or "")
        )
        await w.fake.wait_for(
            lambda: len(w.channel_posts(AUDIT_CHANNEL)) >= len(audit(w)), timeout=15
        )
        posted = " ".join(m.content or "" for m in w.channel_posts(AUDIT_CHANNEL))
        assert "**refused**" in posted and "**cancelled**" in posted and f"<@{MODERATOR}>" in posted
        assert all(m.mentioned_user_ids == [] for m in w.channel_posts(AUDIT_CHANNEL))
        shown = await w.admin("audit", member=MEMBER)
        assert "cancelled" in shown and "delivered" in shown
        assert ADMIN not in [e.user_id for e in audit(w) if e.action is not AuditAction.SETTINGS]


async def test_unknown_jobs_are_listed_and_settled_once(tmp_path: Path) -> None:
    from tests.providersim import Fault

    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.fault(Fault(kind="post", drop="after"), Fault(kind="post", drop="after"))
        await w.reply(await w.video("lost one", provider="runcomfy"))
        await w.reply(await w.video("lost two", provider="runcomfy"))
        first, second = await w.wait_for_state(JobState.UNKNOWN, count=2)
        assert w.charged() == 2
        listed = await w.admin("unknown")
        assert first.id in listed and second.id in listed and "/reelbot resolve" in listed
        assert "their units were given back" in await w.admin("resolve", job=first.id, refund=True)
        assert "the charge stands" in await w.admin("resolve", job=second.id, refund=False)
        assert "no unsettled job" in await w.admin("resolve", job=first.id, refund=True)
        assert "no unsettled job" in await w.admin("resolve", job="0" * 32, refund=True)
        assert w.charged() == 1
        # Settled jobs leave the list.
        assert "No job has an unknown outcome." in await w.admin("unknown")
        assert "settles" not in await w.admin("resolve", job=second.id, refund=True, user=MEMBER)
        assert w.charged() == 1
        settled = [e for e in audit(w) if e.action is AuditAction.QUOTA]
        assert [e.moderator_id for e in settled] == [ADMIN, ADMIN]
