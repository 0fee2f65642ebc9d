"""Choosing the bit rate and picture size for a byte limit (arithmetic only)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bot.core.video.plan import MIN_VIDEO_BIT_RATE, SAFETY, plan_fit, sizes

MiB = 1024 * 1024


def test_the_planned_bit_rates_stay_under_the_limit_with_the_margin() -> None:
    plan = plan_fit(
        limit_bytes=10 * MiB,
        duration=10.0,
        width=1920,
        height=1080,
        fps=Fraction(24),
        has_audio=True,
    )

    assert plan is not None
    assert plan.audio_bit_rate == 96_000
    total_bytes = (plan.video_bit_rate + plan.audio_bit_rate) * 10.0 / 8
    assert total_bytes <= 10 * MiB * SAFETY


def test_a_smaller_budget_picks_a_smaller_picture_and_keeps_full_hd_when_it_can() -> None:
    def height_for(limit: int) -> int:
        plan = plan_fit(
            limit_bytes=limit,
            duration=10.0,
            width=1920,
            height=1080,
            fps=Fraction(24),
            has_audio=False,
        )
        assert plan is not None
        return plan.height

    assert height_for(10 * MiB) == 1080  # 7.7 Mbit/s: plenty for Full HD
    assert height_for(2 * MiB) == 720
    assert height_for(MiB // 2) < 720


def test_sizes_keep_the_aspect_and_even_sides() -> None:
    for width, height in [(1920, 1080), (1080, 1920), (1280, 960), (1001, 563)]:
        for w, h in sizes(width, height):
            assert w % 2 == 0 and h % 2 == 0
            assert w / h == pytest.approx(width / height, rel=0.01)
            assert (w >= h) == (width >= height)


def test_no_plan_when_the_bit_rate_would_fall_below_the_floor() -> None:
    limit = int(MIN_VIDEO_BIT_RATE * 10 / 8 / 2)

    assert (
        plan_fit(
            limit_bytes=limit,
            duration=10.0,
            width=1280,
            height=720,
            fps=Fraction(24),
            has_audio=False,
        )
        is None
    )


def test_audio_gives_way_before_the_video_does() -> None:
    plan = plan_fit(
        limit_bytes=300_000, duration=10.0, width=640, height=360, fps=Fraction(24), has_audio=True
    )

    assert plan is not None
    assert plan.audio_bit_rate == 48_000
