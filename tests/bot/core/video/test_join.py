"""Joining clips: the result lasts the sum of the parts (read back with PyAV), in the first
clip's picture size and frame rate, other sizes letterboxed, sound kept in step."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from bot.core.video import VideoUnreadable
from bot.core.video.join import join_clips
from bot.core.video.probe import probe
from tests.bot.core.video.clips import decode_all, make_clip

FRAME = 1 / 24


def stream_seconds(path: Path, kind: str) -> float:
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


def rgb_at(frame: av.VideoFrame, x: int, y: int) -> tuple[int, int, int]:
    pixels = frame.to_ndarray(format="rgb24")
    red, green, blue = (int(v) for v in pixels[y, x])
    return red, green, blue


def test_joined_clip_lasts_the_sum_of_clips_of_the_same_size(tmp_path: Path) -> None:
    parts = [
        make_clip(tmp_path / "a.mp4", frames=48),
        make_clip(tmp_path / "b.mp4", frames=36),
        make_clip(tmp_path / "c.mp4", frames=60),
    ]

    info = join_clips(parts, tmp_path / "joined.mp4")

    total = sum(probe(p).duration for p in parts)
    assert total == pytest.approx(6.0)
    assert stream_seconds(tmp_path / "joined.mp4", "video") == pytest.approx(total, abs=FRAME)
    assert info.duration == pytest.approx(total, abs=FRAME)
    assert len(decode_all(tmp_path / "joined.mp4")) == 144


def test_clips_of_other_sizes_and_rates_are_letterboxed_into_the_first_and_keep_their_length(
    tmp_path: Path,
) -> None:
    first = make_clip(tmp_path / "a.mp4", width=320, height=240, fps=24, frames=24)
    square = make_clip(
        tmp_path / "b.mp4", width=200, height=200, fps=30, frames=45, colour=lambda _: (250, 20, 20)
    )
    slow = make_clip(tmp_path / "c.mp4", width=640, height=360, fps=12, frames=30)

    info = join_clips([first, square, slow], tmp_path / "joined.mp4")

    assert (info.width, info.height, info.fps) == (320, 240, Fraction(24))
    assert info.duration == pytest.approx(1.0 + 1.5 + 2.5, abs=FRAME)
    frames = decode_all(tmp_path / "joined.mp4")
    assert len(frames) == 24 + 36 + 60
    # A frame of the square clip: red in the middle, black bars left and right (not stretched).
    middle = frames[24 + 18]
    assert rgb_at(middle, 160, 120)[0] > 200
    assert max(rgb_at(middle, 5, 120)) < 20
    assert max(rgb_at(middle, 314, 120)) < 20


def test_sound_of_one_clip_gives_the_join_sound_as_long_as_its_picture(tmp_path: Path) -> None:
    silent = make_clip(tmp_path / "a.mp4", frames=24)
    with_sound = make_clip(tmp_path / "b.mp4", frames=48, audio=True)

    info = join_clips([silent, with_sound], tmp_path / "joined.mp4")

    assert info.audio_codec == "aac"
    assert stream_seconds(tmp_path / "joined.mp4", "audio") == pytest.approx(3.0, abs=0.05)
    assert stream_seconds(tmp_path / "joined.mp4", "video") == pytest.approx(3.0, abs=FRAME)


def test_a_broken_part_fails_the_join_with_its_name_and_leaves_no_file(tmp_path: Path) -> None:
    good = make_clip(tmp_path / "a.mp4")
    broken = tmp_path / "b.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(500))

    with pytest.raises(VideoUnreadable, match=r"b\.mp4"):
        join_clips([good, broken], tmp_path / "joined.mp4")

    assert not (tmp_path / "joined.mp4").exists()
