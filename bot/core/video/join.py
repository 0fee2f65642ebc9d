"""Joining clips into one MP4: the first clip's picture size and frame rate, every other clip
letterboxed into it, each clip keeping its length, so the result lasts the sum of the parts.
Sound, when any clip has it, is AAC; a clip without sound gets silence for its length."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import av
import av.error

import bot.core.video.audio as audio
from bot.core.video.audio import ClipAudio
from bot.core.video.errors import VideoFailed, VideoUnreadable
from bot.core.video.grid import FrameGrid
from bot.core.video.letterbox import Letterbox
from bot.core.video.output import Output
from bot.core.video.probe import open_input, probe, video_stream
from bot.core.video.results import VideoInfo
from bot.core.video.stop import StopFlag

log = logging.getLogger(__name__)

AUDIO_BIT_RATE = 128_000


def _append(
    out: Output, path: Path, info: VideoInfo, first: VideoInfo, stop: StopFlag | None, sound: bool
) -> None:
    slots = max(1, round(info.duration * first.fps))
    grid = FrameGrid(fps=first.fps, count=slots)
    clip_audio = ClipAudio(samples=round(slots / first.fps * audio.RATE)) if sound else None
    with open_input(path) as container:
        video = video_stream(container, path)
        video.thread_type = "AUTO"
        streams: list[av.stream.Stream] = [video]
        if clip_audio is not None and container.streams.audio:
            streams.append(container.streams.audio[0])
        same_size = (info.width, info.height) == (first.width, first.height)
        box = None if same_size else Letterbox(video, width=first.width, height=first.height)
        for packet in container.demux(*streams):
            if stop is not None:
                stop.check()
            decoded: Sequence[object] = packet.decode()
            for frame in decoded:
                if isinstance(frame, av.VideoFrame):
                    for boxed in [frame] if box is None else box.convert(frame):
                        for slot_frame in grid.push(boxed):
                            out.write_frame(slot_frame)
                elif isinstance(frame, av.AudioFrame) and clip_audio is not None:
                    for block in clip_audio.push(frame):
                        out.write_samples(block)
    for slot_frame in grid.finish():
        out.write_frame(slot_frame)
    if clip_audio is not None:
        for block in clip_audio.finish():
            out.write_samples(block)


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
                _append(out, path, info, first, stop, sound)
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
