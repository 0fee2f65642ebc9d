"""Re-encoding a result to fit an upload limit, on real MP4s: within the limit, decodes to the
last frame, same length and aspect; None (and no file left) when it cannot fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.video import VideoUnreadable
from bot.core.video.fit import fit_to_limit
from bot.core.video.probe import probe
from tests.bot.core.video.clips import decode_all, make_clip

MiB = 1024 * 1024


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_30_mib_clip_fits_in_10_mib_playing_to_the_end_with_its_length_and_aspect(
    tmp_path: Path,
) -> None:
    source = make_clip(
        tmp_path / "big.mp4", width=1280, height=720, frames=72, noise=True, block=8, qp=4,
        audio=True,
    )  # fmt: skip
    before = probe(source)
    assert before.size_bytes >= 28 * MiB
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    result = fit_to_limit(source, out_dir, limit_bytes=10 * MiB)

    assert result is not None and result.reencoded
    assert result.path.parent == out_dir
    assert result.path.stat().st_size == result.size_bytes <= 10 * MiB
    after = probe(result.path)
    assert after.codec == "h264" and after.audio_codec == "aac"
    assert after.duration == pytest.approx(before.duration, abs=0.1)
    assert after.width / after.height == pytest.approx(16 / 9, rel=0.01)
    assert len(decode_all(result.path)) == 72
    assert leftovers(out_dir) == [result.path.name]


def test_a_tight_limit_lowers_the_resolution_in_the_same_aspect(tmp_path: Path) -> None:
    source = make_clip(
        tmp_path / "wide.mp4", width=854, height=480, frames=48, noise=True, block=4, qp=10
    )

    result = fit_to_limit(source, tmp_path, limit_bytes=120_000)

    assert result is not None
    assert result.size_bytes <= 120_000
    assert result.height < 480
    assert result.width / result.height == pytest.approx(854 / 480, rel=0.02)
    assert result.duration == pytest.approx(2.0, abs=0.1)
    assert len(decode_all(result.path)) == 48


def test_portrait_clips_keep_their_orientation(tmp_path: Path) -> None:
    source = make_clip(
        tmp_path / "tall.mp4", width=480, height=854, frames=48, noise=True, block=4, qp=10
    )

    result = fit_to_limit(source, tmp_path, limit_bytes=120_000)

    assert result is not None
    assert result.width < result.height < 854


def test_a_limit_no_acceptable_encode_can_meet_gives_none_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=120, noise=True, block=4, qp=10)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    assert fit_to_limit(source, out_dir, limit_bytes=20_000) is None
    assert leftovers(out_dir) == []


def test_a_clip_already_within_the_limit_is_returned_as_it_is(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "small.mp4")

    result = fit_to_limit(source, tmp_path, limit_bytes=10 * MiB)

    assert result is not None
    assert result.path == source and not result.reencoded
    assert leftovers(tmp_path) == ["small.mp4"]


def test_a_file_that_is_not_a_video_is_refused_by_name(tmp_path: Path) -> None:
    junk = tmp_path / "result.mp4"
    junk.write_bytes(b"not a video " * 10_000)

    with pytest.raises(VideoUnreadable, match=r"result\.mp4"):
        fit_to_limit(junk, tmp_path, limit_bytes=1000)
