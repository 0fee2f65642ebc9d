"""Test clips made with PyAV: each frame a known solid colour (or seeded noise, for clips that
must be large), optional AAC sound. Real H.264 MP4 files, not fixture bytes."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

Colour = tuple[int, int, int]
AUDIO_RATE = 48_000


def rainbow(index: int) -> Colour:
    """A colour per frame, far from its neighbours' (steps of 40 on each channel, wrapping)."""
    return ((index * 40) % 256, (255 - index * 40) % 256, (index * 90 + 60) % 256)


def make_clip(
    path: Path,
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 24,
    frames: int = 24,
    colour: Callable[[int], Colour] = rainbow,
    noise: bool = False,
    block: int = 1,
    audio: bool = False,
    qp: int = 18,
    seed: int = 7,
) -> Path:
    """Write an H.264 MP4 of `frames` frames; frame i is `colour(i)`, or seeded noise in
    `block`-pixel squares (hard to compress: large files from short clips)."""
    rng = np.random.default_rng(seed)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "qp": str(qp)}
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo") if audio else None
        for index in range(frames):
            if noise:
                cells = rng.integers(0, 256, size=(-(-height // block), -(-width // block), 3))
                pixels = np.ascontiguousarray(
                    cells.astype(np.uint8).repeat(block, 0).repeat(block, 1)[:height, :width]
                )
            else:
                pixels = np.empty((height, width, 3), dtype=np.uint8)
                pixels[:, :] = colour(index)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            samples = AUDIO_RATE * frames // fps
            t = np.arange(samples) / AUDIO_RATE
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            chunk = 1024
            for start in range(0, samples, chunk):
                part = np.stack([tone[start : start + chunk]] * 2)
                piece = av.AudioFrame.from_ndarray(part, format="fltp", layout="stereo")
                piece.sample_rate = AUDIO_RATE
                piece.pts = start
                piece.time_base = Fraction(1, AUDIO_RATE)
                container.mux(sound.encode(piece))
            container.mux(sound.encode(None))
    return path


def decode_all(path: Path) -> list[av.VideoFrame]:
    """Every video frame of `path`, decoded (fails loudly on a broken file)."""
    with av.open(str(path)) as container:
        return list(container.decode(video=0))
