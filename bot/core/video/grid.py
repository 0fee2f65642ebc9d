"""Putting decoded frames on a constant frame-rate grid: slot k (time k / fps) shows the source
frame nearest to it, a frame is repeated when the source is slower and dropped when it is faster,
and exactly `count` slots come out, so a clip's length is kept whatever its own frame timing."""

from __future__ import annotations

from fractions import Fraction

import av


class FrameGrid:
    def __init__(self, *, fps: Fraction, count: int) -> None:
        self._fps = fps
        self._count = count
        self._slot = 0
        self._start: float | None = None
        self._pending: av.VideoFrame | None = None

    @property
    def full(self) -> bool:
        return self._slot >= self._count

    def push(self, frame: av.VideoFrame) -> list[av.VideoFrame]:
        """Take the next decoded frame; return the frames for the slots it closes."""
        if frame.pts is None:  # no timestamp: one frame per slot
            target = self._slot + (0 if self._pending is None else 1)
        else:
            time = frame.time
            if self._start is None:
                self._start = time
            target = round((time - self._start) * self._fps)
        out: list[av.VideoFrame] = []
        if self._pending is not None:
            while self._slot < min(target, self._count):
                out.append(self._pending)
                self._slot += 1
        self._pending = frame
        return out

    def finish(self) -> list[av.VideoFrame]:
        """The frames for the slots left, repeating the last frame to the end."""
        out: list[av.VideoFrame] = []
        if self._pending is not None:
            while self._slot < self._count:
                out.append(self._pending)
                self._slot += 1
        return out
