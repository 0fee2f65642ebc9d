"""Fitting a clip's frames into another picture size without stretching them: scaled to fit,
centred on black (FFmpeg's scale and pad filters)."""

from __future__ import annotations

import itertools

import av
import av.error
import av.filter


class Letterbox:
    def __init__(self, stream: av.VideoStream, *, width: int, height: int) -> None:
        self._graph = av.filter.Graph()
        nodes = [
            self._graph.add_buffer(template=stream),
            self._graph.add("scale", f"{width}:{height}:force_original_aspect_ratio=decrease"),
            self._graph.add("pad", f"{width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black"),
            self._graph.add("setsar", "1"),
            self._graph.add("format", "yuv420p"),
            self._graph.add("buffersink"),
        ]
        for source, sink in itertools.pairwise(nodes):
            source.link_to(sink)
        self._graph.configure()

    def convert(self, frame: av.VideoFrame) -> list[av.VideoFrame]:
        """The letterboxed frame(s) for one input frame (timestamps kept)."""
        self._graph.push(frame)
        out: list[av.VideoFrame] = []
        while True:
            try:
                converted = self._graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return out
            assert isinstance(converted, av.VideoFrame)  # noqa: S101 - a video graph
            out.append(converted)
