"""Results that fit: a real 30 MiB MP4 from the provider, in a channel whose upload limit is
10 MiB (the fake Discord refuses a larger file with 413/40005, as Discord does), is re-encoded
and attached with a note and the full-quality link; one that cannot fit is posted as the link
alone. Charged once either way, and a restart in the middle of the re-encode still posts it
exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest

from bot.core.jobs.models import Job, JobState, LedgerKind
from tests.bot.core.video.clips import decode_all, make_clip
from tests.e2e.harness import MEMBER, World, world
from tests.fakediscord import FakeMessage
from tests.providersim import JobScript

MiB = 1024 * 1024
FRAMES = 72  # 3 s at 24 fps
NOTE = "The original was too large to attach here, so this is a smaller copy."
LINK_NOTE = "The file is too large to attach here, so here is a link"


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real H.264 + AAC MP4 of about 30 MiB: 3 s of 1280x720 noise at a near-lossless QP."""
    path = make_clip(
        tmp_path_factory.mktemp("clips") / "big.mp4",
        width=1280, height=720, frames=FRAMES, noise=True, block=8, qp=4, audio=True,
    )  # fmt: skip
    data = path.read_bytes()
    assert len(data) >= 28 * MiB
    return data


def temp_files(w: World) -> list[str]:
    directory = w.settings.work_dir / "tmp"
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def charged_once(w: World) -> None:
    kinds = [(e.kind, e.amount) for e in w.ledger()]
    assert kinds == [(LedgerKind.RESERVE, 1), (LedgerKind.COMMIT, 0)]
    assert w.charged(MEMBER) == 1


async def assert_fitted(w: World, result: FakeMessage, job: Job, tmp: Path, source: bytes) -> None:
    [file] = result.files
    assert len(file.data) <= 10 * MiB < len(source)
    assert file.filename.endswith(".mp4")
    posted = tmp / "posted.mp4"
    posted.write_bytes(file.data)
    original = tmp / "original.mp4"
    original.write_bytes(source)
    frames = await asyncio.to_thread(decode_all, posted)  # plays to its end
    assert len(frames) == FRAMES
    with av.open(str(posted)) as out, av.open(str(original)) as src:
        out_video, src_video = out.streams.video[0], src.streams.video[0]
        frame = 1 / 24
        assert float(out.duration or 0) / 1e6 == pytest.approx(
            float(src.duration or 0) / 1e6, abs=frame
        )
        assert out_video.width / out_video.height == pytest.approx(
            src_video.width / src_video.height, rel=0.01
        )
        assert out.streams.audio  # the sound is kept
    assert result.content is not None
    assert NOTE in result.content
    assert job.video_url is not None and job.video_url in result.content
    assert LINK_NOTE not in result.content


async def test_a_30_mib_result_is_re_encoded_to_fit_10_mib_with_a_note_and_the_link(
    tmp_path: Path, big_clip: bytes
) -> None:
    async with world(tmp_path) as w:
        w.fake.upload_limit = 10 * MiB
        await w.start_bot()
        w.runcomfy.script(JobScript(run_seconds=5, video=big_clip))
        assert "on its way" in await w.reply(await w.video("a storm at sea", provider="runcomfy"))

        [result] = await w.wait_for_results(1, timeout=180)
        [job] = await w.wait_for_state(JobState.DELIVERED)
        assert job.upload_limit == 10 * MiB
        assert job.result_message_id == result.id
        await assert_fitted(w, result, job, tmp_path, big_clip)
        assert not [r for r in w.fake.requests if r.status == 413]  # fitted before sending
        charged_once(w)
        await w.fake.wait_for(lambda: temp_files(w) == [], timeout=30)


async def test_a_result_that_cannot_fit_even_re_encoded_is_posted_as_the_link_alone(
    tmp_path: Path, big_clip: bytes
) -> None:
    async with world(tmp_path) as w:
        # 100 KB cannot hold 3 s at the lowest acceptable bit rate (bot.core.video.plan).
        w.fake.upload_limit = 100_000
        await w.start_bot()
        w.runcomfy.script(JobScript(run_seconds=5, video=big_clip))
        assert "on its way" in await w.reply(await w.video("a storm at sea", provider="runcomfy"))

        [result] = await w.wait_for_results(1, timeout=180)
        [job] = await w.wait_for_state(JobState.DELIVERED)
        assert job.upload_limit == 100_000
        assert result.files == []
        assert result.content is not None
        assert LINK_NOTE in result.content
        assert NOTE not in result.content
        assert job.video_url is not None and job.video_url in result.content
        charged_once(w)
        await w.fake.wait_for(lambda: temp_files(w) == [], timeout=30)


async def test_a_restart_in_the_middle_of_the_re_encode_posts_the_result_exactly_once(
    tmp_path: Path, big_clip: bytes
) -> None:
    async with world(tmp_path) as w:
        w.fake.upload_limit = 10 * MiB
        await w.start_bot()
        w.runcomfy.script(JobScript(run_seconds=5, video=big_clip))
        assert "on its way" in await w.reply(await w.video("a storm at sea", provider="runcomfy"))
        # The re-encode has started: its output file exists.
        await w.fake.wait_for(lambda: any("-fit-" in name for name in temp_files(w)), timeout=120)
        [job] = w.jobs()
        assert job.state is JobState.DOWNLOADING
        await w.stop_bot()
        assert w.results() == []

        await w.start_bot()
        [result] = await w.wait_for_results(1, timeout=180)
        [job] = await w.wait_for_state(JobState.DELIVERED)
        await assert_fitted(w, result, job, tmp_path, big_clip)
        await asyncio.sleep(1.0)  # nothing more arrives
        assert len(w.results()) == 1
        assert len(w.runcomfy.submits()) == 1
        charged_once(w)
        await w.fake.wait_for(lambda: temp_files(w) == [], timeout=30)
