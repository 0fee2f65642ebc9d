"""Re-encoding a result to fit an upload limit: same length and aspect, H.264 (+ AAC when the
result has sound), at a bit rate chosen from the limit and the length; lower again, and smaller,
while the output is still too big; None when even the smallest acceptable encode cannot fit, so
the caller falls back to the link."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import av
import av.error

from bot.core.video.clip import write_clip
from bot.core.video.errors import VideoFailed
from bot.core.video.output import Output
from bot.core.video.plan import FitPlan, plan_fit
from bot.core.video.probe import probe
from bot.core.video.results import FitResult, VideoInfo
from bot.core.video.stop import StopFlag

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
RETRY_MARGIN = 0.95
"""After an attempt of size S over limit L, the next aims at L / S × this of the last aim."""


def _transcode(
    source: Path, info: VideoInfo, plan: FitPlan, out_path: Path, stop: StopFlag | None
) -> None:
    with Output(
        out_path,
        width=plan.width,
        height=plan.height,
        fps=info.fps,
        video_bit_rate=plan.video_bit_rate,
        audio_bit_rate=plan.audio_bit_rate,
    ) as out:
        write_clip(
            out,
            source,
            fps=info.fps,
            seconds=info.duration,
            sound=plan.audio_bit_rate is not None,
            stop=stop,
        )


def fit_to_limit(
    source: Path,
    directory: Path,
    *,
    limit_bytes: int,
    stop: StopFlag | None = None,
    prefix: str = "reelbot-fit-",
) -> FitResult | None:
    """A copy of `source` of at most `limit_bytes`, written in `directory` under a name
    starting with `prefix`, or None."""
    info = probe(source)
    if info.size_bytes <= limit_bytes:
        return FitResult(source, info.size_bytes, info.width, info.height, info.duration, False, 0)
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=".mp4", dir=directory)
    os.close(handle)
    out_path = Path(name)
    kept = False
    scale = 1.0
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            plan = plan_fit(
                limit_bytes=limit_bytes,
                duration=info.duration,
                width=info.width,
                height=info.height,
                fps=info.fps,
                has_audio=info.has_audio,
                scale=scale,
            )
            if plan is None:
                log.info(
                    "%s (%.1f s) cannot fit in %d bytes at an acceptable quality",
                    source.name,
                    info.duration,
                    limit_bytes,
                )
                return None
            try:
                _transcode(source, info, plan, out_path, stop)
            except av.error.FFmpegError as error:
                raise VideoFailed(f"{source.name} could not be re-encoded ({error})") from None
            size = out_path.stat().st_size
            log.info(
                "fit %s attempt %d: %dx%d at %d bit/s -> %d bytes (limit %d)",
                source.name,
                attempt,
                plan.width,
                plan.height,
                plan.video_bit_rate,
                size,
                limit_bytes,
            )
            if size <= limit_bytes:
                kept = True
                result = probe(out_path)
                return FitResult(
                    out_path, size, result.width, result.height, result.duration, True, attempt
                )
            scale *= limit_bytes / size * RETRY_MARGIN
        return None
    finally:
        if not kept:
            out_path.unlink(missing_ok=True)
