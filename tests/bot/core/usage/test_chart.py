"""The usage chart: a real PNG (Pillow opens it) of the asked size, drawn off the event loop."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest
from PIL import Image

from bot.core.usage import UsageRow, render_usage_chart, usage_chart_png
from bot.core.usage.chart import HEIGHT_PX, WIDTH_PX

ROWS = [
    UsageRow(date(2026, 11, 1), "runcomfy", 10),
    UsageRow(date(2026, 11, 1), "wavespeed", 4),
    UsageRow(date(2026, 11, 3), "runcomfy", 7),
    UsageRow(date(2026, 11, 7), "wavespeed", 12),
]


def opened(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every pixel: a truncated or corrupt PNG fails here
    return image


async def test_the_chart_is_a_png_of_the_default_size() -> None:
    png = await render_usage_chart(ROWS, first_day=date(2026, 11, 1), last_day=date(2026, 11, 7))

    image = opened(png)
    assert image.format == "PNG"
    assert image.size == (WIDTH_PX, HEIGHT_PX)


def test_the_chart_has_the_asked_size_and_draws_the_bars() -> None:
    png = usage_chart_png(
        ROWS, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30), width_px=640, height_px=360
    )

    image = opened(png).convert("RGB")
    assert image.size == (640, 360)
    # The bars are coloured: more than a handful of pixels are neither white, black nor grey.
    pixels = np.asarray(image, dtype=np.int16)
    coloured = int(((pixels.max(axis=2) - pixels.min(axis=2)) > 60).sum())
    assert coloured > 500


def test_a_period_without_use_still_gives_a_chart() -> None:
    png = usage_chart_png([], first_day=date(2026, 11, 1), last_day=date(2026, 11, 7))

    assert opened(png).size == (WIDTH_PX, HEIGHT_PX)


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        usage_chart_png(ROWS, first_day=date(2026, 11, 7), last_day=date(2026, 11, 1))
