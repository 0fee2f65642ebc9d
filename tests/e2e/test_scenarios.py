"""The failure and edge scenarios members and admins run into, end to end."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from bot.core.jobs.models import JobState, LedgerKind
from tests.e2e.harness import (
    CHANNEL,
    GUILD,
    MEMBER,
    MODERATOR,
    OTHER_CHANNEL,
    OTHER_MEMBER,
    ROLE,
    World,
    png,
    world,
)
from tests.providersim import Fault, JobScript, tiny_mp4

LONG_QUEUE = JobScript(queue_seconds=1e6, queue_positions=[4, 3])


def declared_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares `width`×`height` (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def gif(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "GIF")
    return buffer.getvalue()


def assert_nothing_charged(w: World) -> None:
    assert w.charged() == 0
    assert w.runcomfy.submits() == [] and w.wavespeed.submits() == []


async def test_unsupported_option_names_a_provider_that_can(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        reply = await w.reply(await w.video("x", provider="wavespeed", duration=10))
        assert reply == (
            "WaveSpeed text-to-video makes 5-second clips only, so duration 10 s isn't "
            "available; choose RunComfy for 10 s."
        )
        reply = await w.reply(await w.video("x", provider="runcomfy", aspect_ratio="9:21"))
        assert "choose WaveSpeed for 9:21" in reply
        assert_nothing_charged(w)
        assert w.jobs() == []


async def test_blank_prompt_is_refused(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        reply = await w.reply(await w.video("   "))
        assert "the prompt is empty" in reply
        assert_nothing_charged(w)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (gif(640, 480), "not a JPEG or PNG"),
        (png(200, 200), "shortest side must be at least 320"),
        (png(1600, 400), "at most 3:1"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 5_000_000, "must be under 4.7 MB"),
        (declared_png(30000, 30000), "each side must be at most 4096"),
        (png(640, 480)[:200], "damaged or incomplete"),
    ],
    ids=["gif", "small", "4to1", "5MB", "bomb", "truncated"],
)
async def test_bad_images_are_refused_before_any_charge(
    tmp_path: Path, data: bytes, says: str
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        reply = await w.reply(await w.animate(data, filename="photo.png"))
        assert says in reply
        assert_nothing_charged(w)
        assert w.jobs() == []
        assert w.statuses() == []


async def test_prompt_mentions_ping_nobody(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        prompt = f"@everyone @here <@&{ROLE}> <@{OTHER_MEMBER}> **dance**"
        await w.reply(await w.video(prompt))
        [result] = await w.wait_for_results(1)
        for message in [*w.statuses(), result]:
            assert message.mention_everyone is False
            assert message.mentioned_role_ids == []
            assert OTHER_MEMBER not in message.mentioned_user_ids
        assert result.mentioned_user_ids == [MEMBER]
        [status] = w.statuses()
        assert status.mentioned_user_ids == []
        shown = result.embeds[0]["description"]
        assert "@\u200beveryone" in shown and "\\*\\*dance\\*\\*" in shown


async def test_a_video_over_the_upload_limit_becomes_a_link(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.fake.upload_limit = 30_000
        await w.start_bot()
        w.runcomfy.script(JobScript(run_seconds=5, video=tiny_mp4(60_000)))
        await w.reply(await w.video("big one", provider="runcomfy"))
        [result] = await w.wait_for_results(1)
        assert result.files == []
        [job] = await w.wait_for_state(JobState.DELIVERED)
        assert job.video_url is not None
        assert result.content is not None and job.video_url in result.content
        assert "too large to attach" in result.content


async def test_a_413_from_discord_falls_back_to_a_link(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=20, run_seconds=20))
        await w.reply(await w.video("refused upload", provider="runcomfy"))
        w.fake.fail_next(
            "POST",
            rf"/channels/{CHANNEL}/messages$",
            status=413,
            json={"code": 40005, "message": "Request entity too large"},
        )
        [result] = await w.wait_for_results(1)
        assert result.files == []
        assert "too large to attach" in (result.content or "")
        await w.wait_for_state(JobState.DELIVERED)


async def test_the_video_arrives_after_the_interaction_token_expired(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=30, queue_positions=[2, 1], run_seconds=60))
        await w.reply(await w.video("slow one", provider="runcomfy"))
        w.fake.expire_interaction_tokens()
        [result] = await w.wait_for_results(1)
        assert result.files and result.mentioned_user_ids == [MEMBER]
        await w.wait_for_state(JobState.DELIVERED)


async def test_a_channel_the_bot_cannot_post_in_is_explained_and_costs_nothing(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.fake.deny_channel(CHANNEL)
        reply = await w.reply(await w.video("hello"))
        assert "I can't post videos in this channel" in reply
        assert "Send Messages" in reply
        assert_nothing_charged(w)


async def test_losing_post_permission_mid_job_refunds_and_keeps_running(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=20, run_seconds=20))
        await w.reply(await w.video("hello", provider="runcomfy"))
        w.fake.deny_channel(CHANNEL)
        [job] = await w.wait_for_state(JobState.FAILED)
        assert job.error is not None and "Send Messages" in job.error
        assert w.charged() == 0
        assert w.results() == []
        reply = await w.reply(
            await w.fake.invoke(
                "quota", [], guild_id=GUILD, channel_id=OTHER_CHANNEL, user_id=MEMBER
            )
        )
        assert "5 left" in reply


async def test_an_exhausted_quota_says_when_it_frees_up(tmp_path: Path) -> None:
    async with world(tmp_path, quota_limit=2, max_jobs_per_member=5) as w:
        await w.start_bot()
        await w.reply(await w.video("one", provider="runcomfy", duration=10))
        reply = await w.reply(await w.video("two", provider="runcomfy"))
        assert "You've used 2 of your 2 video units" in reply
        assert "<t:" in reply and ":R>" in reply
        assert len(w.jobs()) == 1
        assert w.charged() == 2


async def test_fifty_simultaneous_submissions_respect_the_quota(tmp_path: Path) -> None:
    async with world(tmp_path, quota_limit=5, max_jobs_per_member=50) as w:
        await w.start_bot()
        for sim in (w.runcomfy, w.wavespeed):
            sim.default_script = LONG_QUEUE
        interactions = await asyncio.gather(*(w.video(f"clip {i}") for i in range(50)))
        replies = await asyncio.gather(*(w.reply(i, timeout=30) for i in interactions))
        accepted = [r for r in replies if "on its way" in r]
        refused = [r for r in replies if "You've used 5 of your 5" in r]
        assert len(accepted) == 5
        assert len(refused) == 45
        reserved = [e for e in w.ledger() if e.kind is LedgerKind.RESERVE]
        assert sum(e.amount for e in reserved) == 5
        assert len(w.jobs()) == 5
        assert all(i.acknowledged_at is not None and i.acknowledged_at < 3 for i in interactions)


async def test_jobs_beyond_the_global_cap_wait_in_line_with_their_position(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, max_concurrent_jobs=1, max_jobs_per_member=3) as w:
        await w.start_bot()
        w.runcomfy.default_script = LONG_QUEUE
        for prompt in ("first", "second", "third"):
            await w.reply(await w.video(prompt, provider="runcomfy"))
        await w.fake.wait_for(lambda: len(w.runcomfy.submits()) == 1)
        await w.fake.wait_for(
            lambda: any("position 2 in line" in str(m.embeds) for m in w.statuses())
        )
        states = sorted(j.state.value for j in w.jobs())
        assert states == ["accepted", "accepted", "submitted"]


async def test_cancel_is_refused_to_other_members_and_honoured_for_the_requester(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(LONG_QUEUE)
        await w.reply(await w.video("cancel me", provider="runcomfy"))
        await w.wait_for_state(JobState.SUBMITTED)
        [status] = w.statuses()
        [cancel_id] = [c for c in status.custom_ids() if c.startswith("reelbot:cancel:")]

        other = await w.fake.click(status, cancel_id, user_id=OTHER_MEMBER)
        assert "Only the member who asked" in await w.reply(other)
        assert w.jobs()[0].state is JobState.SUBMITTED

        mine = await w.fake.click(status, cancel_id, user_id=MEMBER)
        assert "Cancelled. The quota was given back." in await w.reply(mine)
        [job] = await w.wait_for_state(JobState.CANCELLED)
        assert job.refunded and w.charged() == 0
        assert [r.path for r in w.runcomfy.requests if r.path.endswith("/cancel")]
        await w.fake.wait_for(lambda: "Cancelled" in str(status.embeds))


async def test_a_moderator_may_cancel_and_wavespeed_says_it_cannot(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.wavespeed.script(JobScript(run_seconds=1e6))
        await w.reply(await w.video("unstoppable", provider="wavespeed"))
        await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING)
        [status] = w.statuses()
        [cancel_id] = [c for c in status.custom_ids() if c.startswith("reelbot:cancel:")]
        click = await w.fake.click(status, cancel_id, user_id=MODERATOR)
        assert "WaveSpeed can't cancel a job once it has been sent" in await w.reply(click)
        assert w.jobs()[0].state in (JobState.SUBMITTED, JobState.RUNNING)


async def test_provider_failure_is_explained_and_refunded(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.wavespeed.script(JobScript(run_seconds=5, outcome="failed", error="GPU on fire"))
        await w.reply(await w.video("doomed", provider="wavespeed"))
        [job] = await w.wait_for_state(JobState.FAILED)
        assert job.error == "WaveSpeed could not make this video: GPU on fire"
        assert w.charged() == 0
        [status] = w.statuses()
        await w.fake.wait_for(lambda: "GPU on fire" in str(status.embeds))
        assert "quota was given back" in str(status.embeds)


async def test_a_lost_submit_is_held_as_unknown_not_refunded(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.fault(Fault(kind="post", drop="after"))
        await w.reply(await w.video("lost", provider="runcomfy"))
        [job] = await w.wait_for_state(JobState.UNKNOWN)
        assert not job.refunded and w.charged() == 1
        assert len(w.runcomfy.submits()) == 1
        [status] = w.statuses()
        await w.fake.wait_for(lambda: "Outcome unknown" in str(status.embeds))


async def test_buttons_work_after_a_restart(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(run_seconds=5), LONG_QUEUE)
        await w.reply(await w.video("first", provider="runcomfy"))
        [result] = await w.wait_for_results(1)
        await w.reply(await w.video("second", provider="runcomfy"))
        await w.wait_for_state(JobState.SUBMITTED)
        await w.stop_bot()

        await w.start_bot()
        [reroll_id] = [c for c in result.custom_ids() if c.startswith("reelbot:reroll:")]
        reroll = await w.fake.click(result, reroll_id, user_id=MEMBER)
        assert "on its way" in await w.reply(reroll)
        second_status = w.statuses()[1]
        [cancel_id] = [c for c in second_status.custom_ids() if c.startswith("reelbot:cancel:")]
        cancel = await w.fake.click(second_status, cancel_id, user_id=MEMBER)
        assert "Cancelled" in await w.reply(cancel)
        jobs = w.jobs()
        assert jobs[2].parent_job_id == jobs[0].id
        assert jobs[2].prompt == "first" and jobs[2].seed != jobs[0].seed
        assert jobs[1].state is JobState.CANCELLED


async def test_quota_and_jobs_show_a_members_own_numbers(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.reply(await w.video("ten seconds", provider="runcomfy", duration=10))
        await w.wait_for_results(1)
        quota = await w.reply(
            await w.fake.invoke("quota", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
        )
        assert "Used:** 2 of 5" in quota and "3 left" in quota and "frees up <t:" in quota
        jobs = await w.fake.invoke("jobs", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
        await w.fake.wait_for(lambda: bool(jobs.original and jobs.original.embeds))
        assert jobs.original is not None and jobs.original.ephemeral
        assert "delivered" in str(jobs.original.embeds)
