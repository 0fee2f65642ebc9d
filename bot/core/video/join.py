"""Joining clips into one MP4: the first clip's picture size and frame rate, every other clip
letterboxed into it, each clip keeping its length, so the result lasts the sum of the parts.
Sound, when any clip has it, is AAC; a clip without sound gets silence for its length."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import av
import av.error

from bot.core.video.clip import write_clip
from bot.core.video.errors import VideoFailed, VideoUnreadable
from bot.core.video.output import Output
from bot.core.video.probe import probe
from bot.core.video.results import VideoInfo
from bot.core.video.stop import StopFlag

log = logging.getLogger(__name__)

AUDIO_BIT_RATE = 128_000


def join_clips(
    sources: Sequence[Path], destination: Path, *, stop: StopFlag | None = None
) -> VideoInfo:
    """Write the clips in `sources`, in order, as one MP4 at `destination`; return its probe."""
    if not sources:
        raise VideoUnreadable("there are no clips to join")
    infos = [probe(path) for path in sources]
    first = infos[0]
    sound = any(info.has_audio for info in infos)
    try:
        with Output(
            destination,
            width=first.width - first.width % 2,
            height=first.height - first.height % 2,
            fps=first.fps,
            audio_bit_rate=AUDIO_BIT_RATE if sound else None,
        ) as out:
            for path, info in zip(sources, infos, strict=True):
                same_size = (info.width, info.height) == (first.width, first.height)
                write_clip(
                    out,
                    path,
                    fps=first.fps,
                    seconds=info.duration,
                    sound=sound,
                    stop=stop,
                    letterbox=None if same_size else (first.width, first.height),
                )
    except av.error.FFmpegError as error:
        destination.unlink(missing_ok=True)
        raise VideoFailed(f"the clips could not be joined ({error})") from None
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    result = probe(destination)
    log.info(
        "joined %d clips into %s: %.2f s, %dx%d, %d bytes",
        len(sources),
        destination.name,
        result.duration,
        result.width,
        result.height,
        result.size_bytes,
    )
    return result
