"""The fitting step between download and post, on real MP4s with the real video worker: a
result that fits is left alone; one over the limit becomes a `FittedVideo` named after its
job; one that cannot fit, cannot be read, or takes too long gives None (post the link), and
no file is left behind in any case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.jobs.fitting import FittedVideo, ResultFitter
from bot.core.video import VideoTools, VideoWorker
from providers import Downloaded
from tests.bot.core.jobdata import new_job
from tests.bot.core.video.clips import make_clip


@pytest.fixture
async def tools(tmp_path: Path) -> AsyncIterator[VideoTools]:
    work = tmp_path / "work"
    work.mkdir()
    tools = VideoTools(worker=VideoWorker(timeout=120.0), directory=work)
    yield tools
    await tools.aclose()


def download(path: Path) -> Downloaded:
    return Downloaded(path=path, size=path.stat().st_size, content_type="video/mp4")


def noisy(tmp_path: Path) -> Path:
    return make_clip(
        tmp_path / "work" / "download.mp4", width=640, height=360, frames=48, noise=True,
        block=4, qp=8,
    )  # fmt: skip


async def test_a_result_within_the_limit_is_posted_as_it_is(
    tmp_path: Path, tools: VideoTools
) -> None:
    video = download(noisy(tmp_path))
    job = new_job()
    job.upload_limit = video.size

    assert await ResultFitter(tools=tools).fit(job, video) is video
    assert video.path.exists()


async def test_a_result_over_the_limit_is_replaced_by_a_copy_named_after_its_job(
    tmp_path: Path, tools: VideoTools
) -> None:
    video = download(noisy(tmp_path))
    job = new_job()
    job.upload_limit = video.size // 3

    fitted = await ResultFitter(tools=tools).fit(job, video)

    assert isinstance(fitted, FittedVideo)
    assert fitted.size == fitted.path.stat().st_size <= job.upload_limit
    assert fitted.original_size == video.size
    assert fitted.path.name.startswith(f"reelbot-{job.id}-fit-")
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [fitted.path.name]


async def test_a_result_that_cannot_fit_gives_the_link_and_leaves_nothing(
    tmp_path: Path, tools: VideoTools
) -> None:
    video = download(noisy(tmp_path))
    job = new_job()
    job.upload_limit = 20_000  # below the lowest acceptable bit rate for 2 s

    assert await ResultFitter(tools=tools).fit(job, video) is None
    assert list((tmp_path / "work").iterdir()) == []


async def test_an_unreadable_result_gives_the_link_and_leaves_nothing(
    tmp_path: Path, tools: VideoTools
) -> None:
    path = tmp_path / "work" / "download.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(50_000))
    job = new_job()
    job.upload_limit = 10_000

    assert await ResultFitter(tools=tools).fit(job, download(path)) is None
    assert list((tmp_path / "work").iterdir()) == []


async def test_a_re_encode_past_its_time_limit_gives_the_link_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    video = download(noisy(tmp_path))
    job = new_job()
    job.upload_limit = video.size // 3
    slow = VideoTools(worker=VideoWorker(timeout=0.05), directory=work)
    try:
        assert await ResultFitter(tools=slow).fit(job, video) is None
    finally:
        await slow.aclose()  # waits for the stopped thread, which removes its output
    assert list(work.iterdir()) == []
