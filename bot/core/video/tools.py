"""The video toolkit's async face: what the bot awaits. Reading headers runs in a thread; the
decoding and encoding go through the `VideoWorker` (one at a time, under its time limit). PyAV
and NumPy (about 70 MiB) are imported by the first piece of work, in its thread, not at
start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from bot.core.video.results import FitResult, VideoInfo
from bot.core.video.stop import StopFlag
from bot.core.video.worker import VideoWorker


class VideoTools:
    def __init__(self, *, worker: VideoWorker, directory: Path) -> None:
        self._worker = worker
        self._directory = directory

    async def probe(self, path: Path) -> VideoInfo:
        return await asyncio.to_thread(_probe, path)

    async def last_frame_png(self, path: Path) -> bytes:
        """PNG bytes of the clip's last picture (for Extend)."""

        def work(stop: StopFlag) -> bytes:
            from bot.core.video.last_frame import last_frame_png

            return last_frame_png(path, stop=stop)

        return await self._worker.run(f"taking the last frame of {path.name}", work)

    async def join(self, sources: Sequence[Path], destination: Path) -> VideoInfo:
        """Join `sources` in order into `destination` (removed again on any failure)."""
        clips = list(sources)

        def work(stop: StopFlag) -> VideoInfo:
            from bot.core.video.join import join_clips

            return join_clips(clips, destination, stop=stop)

        return await self._worker.run(f"joining {len(clips)} clips", work)

    async def fit(
        self, source: Path, *, limit_bytes: int, prefix: str = "reelbot-fit-"
    ) -> FitResult | None:
        """A copy of `source` within `limit_bytes` in the toolkit's directory (its name
        starting with `prefix`), or None when no acceptable encode fits (post the link
        instead)."""

        def work(stop: StopFlag) -> FitResult | None:
            from bot.core.video.fit import fit_to_limit

            return fit_to_limit(
                source, self._directory, limit_bytes=limit_bytes, stop=stop, prefix=prefix
            )

        return await self._worker.run(f"fitting {source.name} to {limit_bytes} bytes", work)

    async def aclose(self) -> None:
        await self._worker.aclose()


def _probe(path: Path) -> VideoInfo:
    from bot.core.video.probe import probe

    return probe(path)
