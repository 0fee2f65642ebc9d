"""The async toolkit: work runs in a thread, one encode at a time, under a time limit that
gives a clear error and stops the thread; temporary files do not outlive the work."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.core.video import VideoTimeout, VideoTools, VideoWorker
from tests.bot.core.video.clips import make_clip

TIMEOUT = 120.0


@pytest.fixture
async def tools(tmp_path: Path) -> AsyncIterator[VideoTools]:
    out = tmp_path / "out"
    out.mkdir()
    toolkit = VideoTools(worker=VideoWorker(timeout=TIMEOUT), directory=out)
    yield toolkit
    await toolkit.aclose()


def noisy(path: Path, frames: int = 48) -> Path:
    return make_clip(path, width=640, height=360, frames=frames, noise=True, block=4, qp=10)


async def test_two_concurrent_fits_run_one_after_the_other(
    tmp_path: Path, tools: VideoTools, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = noisy(tmp_path / "first.mp4"), noisy(tmp_path / "second.mp4")
    caplog.set_level(logging.DEBUG, logger="bot.core.video.worker")

    results = await asyncio.gather(
        tools.fit(first, limit_bytes=150_000), tools.fit(second, limit_bytes=150_000)
    )

    assert all(r is not None and r.size_bytes <= 150_000 for r in results)
    order = [m.getMessage() for m in caplog.records if m.name == "bot.core.video.worker"]
    assert len(order) == 4, order
    assert [("started" in m, "finished" in m) for m in order] == [
        (True, False),
        (False, True),
        (True, False),
        (False, True),
    ], order
    assert order[0].split(" started")[0] == order[1].split(" finished")[0]
    assert order[2].split(" started")[0] == order[3].split(" finished")[0]


async def test_a_fit_over_its_time_limit_is_a_clear_error_and_its_thread_stops(
    tmp_path: Path,
) -> None:
    source = noisy(tmp_path / "slow.mp4", frames=240)
    out = tmp_path / "out"
    out.mkdir()
    toolkit = VideoTools(worker=VideoWorker(timeout=0.3), directory=out)

    with pytest.raises(VideoTimeout) as caught:
        await toolkit.fit(source, limit_bytes=2_000_000)

    assert caught.value.message == (
        "fitting slow.mp4 to 2000000 bytes took longer than 0.3 s and was stopped"
    )
    # The slot frees once the thread has stopped; the next work then runs normally.
    small = make_clip(tmp_path / "small.mp4", frames=12)
    png = await toolkit.last_frame_png(small)
    assert Image.open(io.BytesIO(png)).size == (320, 240)
    assert list(out.iterdir()) == []
    await toolkit.aclose()


async def test_closing_stops_running_work_and_removes_its_files(tmp_path: Path) -> None:
    source = noisy(tmp_path / "slow.mp4", frames=240)
    out = tmp_path / "out"
    out.mkdir()
    toolkit = VideoTools(worker=VideoWorker(timeout=TIMEOUT), directory=out)
    fit = asyncio.create_task(toolkit.fit(source, limit_bytes=2_000_000))
    # The worker thread creates its output file when the encode starts; nothing to await.
    while not fit.done() and not list(out.iterdir()):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert not fit.done()

    await toolkit.aclose()

    assert fit.done()
    assert list(out.iterdir()) == []
    with pytest.raises(Exception, match="shutting down"):
        fit.result()


async def test_join_and_probe_through_the_toolkit(tmp_path: Path, tools: VideoTools) -> None:
    parts = [make_clip(tmp_path / f"{n}.mp4", frames=24) for n in "ab"]

    joined = await tools.join(parts, tmp_path / "joined.mp4")

    assert joined.duration == pytest.approx(2.0, abs=1 / 24)
    assert (await tools.probe(tmp_path / "joined.mp4")) == joined
