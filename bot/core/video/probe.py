"""What a video file is: duration, size, codec, frame rate, and whether it has sound."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import av.error

from bot.core.video.errors import VideoUnreadable
from bot.core.video.results import VideoInfo

log = logging.getLogger(__name__)

DEFAULT_FPS = Fraction(24)
"""Used when a stream states no frame rate at all (rare; the providers' MP4s state 24)."""


def open_input(path: Path) -> av.container.InputContainer:
    """Open `path` for reading, or raise `VideoUnreadable` saying why."""
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError) as error:
        raise VideoUnreadable(f"{path.name} is not a video that can be read ({error})") from None


def video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        raise VideoUnreadable(f"{path.name} has no video track")
    return container.streams.video[0]


def stream_fps(stream: av.VideoStream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    return DEFAULT_FPS


def stream_duration(stream: av.VideoStream, container: av.container.InputContainer) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    if stream.frames:
        return float(stream.frames / stream_fps(stream))
    return 0.0


def probe(path: Path) -> VideoInfo:
    """Read the headers of `path` (no decoding); `VideoUnreadable` if it is not a video."""
    with open_input(path) as container:
        video = video_stream(container, path)
        audio = container.streams.audio[0] if container.streams.audio else None
        width, height = video.codec_context.width, video.codec_context.height
        if width <= 0 or height <= 0:
            raise VideoUnreadable(f"{path.name} has a video track without a picture size")
        return VideoInfo(
            duration=stream_duration(video, container),
            width=width,
            height=height,
            codec=video.codec_context.name,
            fps=stream_fps(video),
            audio_codec=audio.codec_context.name if audio is not None else None,
            size_bytes=path.stat().st_size,
        )
