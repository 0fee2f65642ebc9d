"""The job path end to end (real bot, fake Discord, provider simulators over HTTP): a submit
the provider did not take is sent again, a crashed driver is settled at once, and downloads no
process owns are removed."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

from sqlmodel import Session

from bot.core.jobs.models import Job, JobState
from tests.e2e.harness import CHANNEL, MEMBER, World, world
from tests.providersim import JobScript


def edits_text(w: World) -> str:
    return " ".join(json.dumps(edit, ensure_ascii=False) for m in w.statuses() for edit in m.edits)


async def test_a_429_on_submit_waits_in_its_slot_then_is_delivered_and_charged_once(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, max_concurrent_jobs=3, max_jobs_per_member=3) as w:
        await w.start_bot()
        # WaveSpeed's default tier allows 2 videos a minute; here 2 per 12 s (1200 simulated
        # s), long enough that the third arrives inside the window although the fake Discord
        # paces the status posts in one channel (5 per 5 s).
        w.wavespeed.limit_submits(2, per_seconds=1200)
        for number in range(3):
            await w.reply(await w.video(f"limited {number}", provider="wavespeed"))
        await w.wait_for_results(3, timeout=40)
        await w.wait_for_state(JobState.DELIVERED, count=3)

        assert len(w.wavespeed.jobs) == 3  # one job per request at the provider
        # At least one POST was refused with 429 (no job) and sent again.
        assert len(w.wavespeed.submits()) >= 4
        assert all(j.state is JobState.DELIVERED for j in w.jobs())
        assert w.charged() == 3  # one unit each, charged once
        assert "rate limit" in edits_text(w)


async def test_a_job_waiting_out_a_rate_limit_can_be_cancelled_and_nothing_more_is_sent(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, max_concurrent_jobs=2) as w:
        await w.start_bot()
        w.wavespeed.script(JobScript(run_seconds=1e6))
        w.wavespeed.limit_submits(1, per_seconds=6000)  # Retry-After: 60 s
        await w.reply(await w.video("first", provider="wavespeed"))
        await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING)
        await w.reply(await w.video("second", provider="wavespeed"))
        await w.fake.wait_for(lambda: len(w.wavespeed.submits()) == 2)
        await w.fake.wait_for(lambda: "rate limit" in edits_text(w))
        second = next(j for j in w.jobs() if j.prompt == "second")
        assert second.state is JobState.SUBMITTING and second.submit_attempted_at is None

        status = next(m for m in w.statuses() if any(second.id in c for c in m.custom_ids()))
        click = await w.fake.click(status, f"reelbot:cancel:{second.id}", user_id=MEMBER)
        assert "Cancelled" in await w.reply(click)
        [cancelled] = await w.wait_for_state(JobState.CANCELLED)
        assert cancelled.id == second.id and cancelled.refunded
        assert len(w.wavespeed.submits()) == 2 and len(w.wavespeed.jobs) == 1
        assert w.charged() == 1


async def test_a_crashed_driver_is_settled_at_once_not_when_its_lease_lapses(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, lease_seconds=60) as w:
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=50, run_seconds=50))
        await w.reply(await w.video("crash while posting", provider="runcomfy"))
        await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING)
        # Discord answers the result post with a body the client cannot read: an unexpected
        # error inside the driver, after the post may or may not have happened.
        w.fake.fail_next("POST", rf"^/channels/{CHANNEL}/messages$", status=200, json={})
        started = time.monotonic()
        [job] = await w.wait_for_state(JobState.DELIVERED, timeout=20)
        assert time.monotonic() - started < 15  # not after the 60 s lease
        assert len(w.results()) == 1
        assert len(w.runcomfy.submits()) == 1
        assert w.charged() == 1
        assert list((w.settings.work_dir / "tmp").iterdir()) == []
        assert job.result_message_id == w.results()[0].id


async def test_start_up_removes_downloads_no_process_owns_and_keeps_a_live_one(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        bot = await w.start_bot()
        w.wavespeed.script(JobScript(run_seconds=1e6))
        await w.reply(await w.video("finished long ago"))
        await w.reply(await w.video("someone else is downloading this"))
        done, busy = w.jobs()
        await w.stop_bot()
        now = time.time()
        with Session(bot.db.engine) as session:
            for job, state, owner, expires in (
                (done, JobState.DELIVERED, "dead-process", now - 100),
                (busy, JobState.DOWNLOADING, "live-process", now + 3600),
            ):
                row = session.get(Job, job.id)
                assert row is not None
                row.state, row.lease_owner, row.lease_expires_at = state, owner, expires
                session.add(row)
            session.commit()
        tmp = w.settings.work_dir / "tmp"
        leaked = tmp / f"reelbot-{done.id}-leaked.mp4"
        in_use = tmp / f"reelbot-{busy.id}-inuse.mp4"
        leaked.write_bytes(b"x" * 1000)
        in_use.write_bytes(b"y" * 1000)

        await w.start_bot()
        await w.fake.wait_for(lambda: not leaked.exists(), timeout=10)
        assert in_use.exists()


async def test_a_provider_not_reachable_at_submit_is_sent_again_once_it_is(
    tmp_path: Path,
) -> None:
    # A port nobody listens on yet: the submit's connection is refused, so nothing was sent.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with world(tmp_path, runcomfy_base_url=f"http://127.0.0.1:{port}") as w:
        await w.start_bot()
        await w.reply(await w.video("unreachable at first", provider="runcomfy"))
        await w.fake.wait_for(lambda: w.jobs()[0].submit_retry_at is not None, timeout=10)
        [waiting] = w.jobs()
        assert waiting.state is JobState.SUBMITTING and waiting.submit_attempted_at is None
        assert w.runcomfy.submits() == []

        target = w.runcomfy.base_url.rsplit(":", 1)[1]
        server = await asyncio.start_server(
            lambda r, wr: forward(r, wr, int(target)), "127.0.0.1", port
        )
        async with server:
            [job] = await w.wait_for_state(JobState.DELIVERED, timeout=20)
        assert len(w.runcomfy.submits()) == 1 and len(w.results()) == 1
        assert w.charged() == 1 and not job.refunded


async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
    """Pass one connection through to the simulator."""
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except ConnectionError:
            pass
        finally:
            dst.close()

    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
