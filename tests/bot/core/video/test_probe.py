"""Probing real MP4s made by the tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from bot.core.video import VideoUnreadable
from bot.core.video.probe import probe
from tests.bot.core.video.clips import make_clip


def test_probe_reads_duration_size_codec_fps_and_sound(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.mp4", width=320, height=180, fps=30, frames=45, audio=True)

    info = probe(clip)

    assert info.duration == pytest.approx(1.5, abs=0.01)
    assert (info.width, info.height) == (320, 180)
    assert info.codec == "h264"
    assert info.fps == Fraction(30)
    assert info.audio_codec == "aac"
    assert info.size_bytes == clip.stat().st_size


def test_probe_of_a_silent_clip_says_it_has_no_audio(tmp_path: Path) -> None:
    info = probe(make_clip(tmp_path / "a.mp4"))

    assert info.audio_codec is None
    assert not info.has_audio


def test_probe_refuses_bytes_that_are_not_a_video_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "result.mp4"
    junk.write_bytes(b"<html>the file has expired</html>" * 40)

    with pytest.raises(VideoUnreadable) as caught:
        probe(junk)

    assert "result.mp4 is not a video that can be read" in caught.value.message
