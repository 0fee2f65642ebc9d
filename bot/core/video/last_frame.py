"""The last picture of a clip, as PNG bytes: what an Extend job starts from."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import av
import av.error
from PIL import Image

from bot.core.video.errors import VideoFailed, VideoUnreadable
from bot.core.video.probe import open_input, stream_duration, video_stream
from bot.core.video.stop import StopFlag

log = logging.getLogger(__name__)

SEEK_BACK_SECONDS = 3.0
"""Decoding starts at the keyframe before this point from the end, not at the start."""


def _decode_last(
    path: Path, *, seek_to: float | None, stop: StopFlag | None
) -> av.VideoFrame | None:
    with open_input(path) as container:
        stream = video_stream(container, path)
        stream.thread_type = "AUTO"
        if seek_to is not None and seek_to > 0:
            container.seek(int(seek_to * av.time_base), backward=True, any_frame=False)
        last: av.VideoFrame | None = None
        for frame in container.decode(stream):
            if stop is not None:
                stop.check()
            last = frame
        return last


def last_frame_png(path: Path, *, stop: StopFlag | None = None) -> bytes:
    """PNG bytes of the last decoded frame of `path` (full size, RGB)."""
    with open_input(path) as container:
        duration = stream_duration(video_stream(container, path), container)
    try:
        frame = _decode_last(path, seek_to=duration - SEEK_BACK_SECONDS, stop=stop)
        if frame is None:  # the seek landed past every frame: read from the start
            frame = _decode_last(path, seek_to=None, stop=stop)
    except av.error.FFmpegError as error:
        raise VideoFailed(f"{path.name} could not be decoded to its end ({error})") from None
    if frame is None:
        raise VideoUnreadable(f"{path.name} has no picture to take")
    buffer = io.BytesIO()
    Image.fromarray(frame.to_ndarray(format="rgb24")).save(buffer, format="PNG")
    return buffer.getvalue()
