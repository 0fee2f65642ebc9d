"""The last frame of a clip, as PNG: its pixels are those of the last frame the test encoded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.core.video import VideoUnreadable
from bot.core.video.last_frame import last_frame_png
from tests.bot.core.video.clips import Colour, make_clip, rainbow

TOLERANCE = 6  # per channel: H.264 at qp 18 and the YUV 4:2:0 round trip


def assert_close(pixel: tuple[int, ...], colour: Colour) -> None:
    assert all(abs(a - b) <= TOLERANCE for a, b in zip(pixel[:3], colour, strict=True)), (
        pixel,
        colour,
    )


def centre_and_corner(png: bytes) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, int]]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    rgb = image.convert("RGB")
    width, height = rgb.size
    return rgb.getpixel((width // 2, height // 2)), rgb.getpixel((3, 3)), rgb.size  # type: ignore[return-value]


@pytest.mark.parametrize(("fps", "frames"), [(24, 24), (24, 150), (30, 1)])
def test_last_frame_has_the_pixels_of_the_clips_last_frame(
    tmp_path: Path, fps: int, frames: int
) -> None:
    # 150 frames (6.25 s) is longer than the seek-back window: decoding starts near the end.
    clip = make_clip(tmp_path / "clip.mp4", width=352, height=288, fps=fps, frames=frames)

    centre, corner, size = centre_and_corner(last_frame_png(clip))

    assert size == (352, 288)
    assert_close(centre, rainbow(frames - 1))
    assert_close(corner, rainbow(frames - 1))
    if frames > 1:
        assert max(abs(a - b) for a, b in zip(centre, rainbow(frames - 2), strict=False)) > 30


def test_last_frame_of_a_file_that_is_not_a_video_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "clip.mp4"
    junk.write_bytes(bytes(range(256)) * 64)

    with pytest.raises(VideoUnreadable, match=r"clip\.mp4"):
        last_frame_png(junk)
