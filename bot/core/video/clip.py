"""One clip written into an output: its picture on the output's frame grid (a slot per frame
at the output's rate, for the clip's whole length), its sound, or silence, for the same length.
Fitting writes one clip; joining writes one after another."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av

import bot.core.video.audio as audio
from bot.core.video.audio import ClipAudio
from bot.core.video.grid import FrameGrid
from bot.core.video.letterbox import Letterbox
from bot.core.video.output import Output
from bot.core.video.probe import open_input, video_stream
from bot.core.video.stop import StopFlag


def write_clip(
    out: Output,
    source: Path,
    *,
    fps: Fraction,
    seconds: float,
    sound: bool,
    stop: StopFlag | None,
    letterbox: tuple[int, int] | None = None,
) -> None:
    """Decode `source` and write `seconds` of it at `fps` into `out`; with `sound`, its audio
    (or silence where it has none) for the same length; with `letterbox` (width, height), its
    picture letterboxed into that size."""
    slots = max(1, round(seconds * fps))
    grid = FrameGrid(fps=fps, count=slots)
    clip_audio = ClipAudio(samples=round(slots / fps * audio.RATE)) if sound else None
    with open_input(source) as container:
        video = video_stream(container, source)
        video.thread_type = "AUTO"
        streams: list[av.stream.Stream] = [video]
        if clip_audio is not None and container.streams.audio:
            streams.append(container.streams.audio[0])
        box = (
            None if letterbox is None else Letterbox(video, width=letterbox[0], height=letterbox[1])
        )
        for packet in container.demux(*streams):
            if stop is not None:
                stop.check()
            decoded: Sequence[object] = packet.decode()
            for frame in decoded:
                if isinstance(frame, av.VideoFrame):
                    for converted in [frame] if box is None else box.convert(frame):
                        for slot_frame in grid.push(converted):
                            out.write_frame(slot_frame)
                elif isinstance(frame, av.AudioFrame) and clip_audio is not None:
                    for block in clip_audio.push(frame):
                        out.write_samples(block)
    for slot_frame in grid.finish():
        out.write_frame(slot_frame)
    if clip_audio is not None:
        for block in clip_audio.finish():
            out.write_samples(block)
