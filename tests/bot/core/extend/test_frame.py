"""The last frame as the image a provider accepts (bot.core.images: under 4.7 MB, sides
320-4096 px): JPEG, scaled only when it must be."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from bot.core.extend import frame_for_provider
from bot.core.images import MAX_BYTES, inspect_image


def png(width: int, height: int, *, noise: bool) -> bytes:
    rng = np.random.default_rng(3)
    if noise:
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    else:
        pixels = np.full((height, width, 3), (30, 120, 200), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_1080p_frame_whose_png_passes_the_limit_becomes_a_jpeg_under_it() -> None:
    source = png(1920, 1080, noise=True)
    assert len(source) > MAX_BYTES  # as a PNG the provider would refuse it
    image = frame_for_provider(source)
    assert len(image) < MAX_BYTES
    checked = inspect_image(image)
    assert (checked.kind, checked.width, checked.height) == ("JPEG", 1920, 1080)


def test_a_frame_still_too_large_is_scaled_down_keeping_its_shape() -> None:
    image = frame_for_provider(png(1920, 1080, noise=True), max_bytes=400_000)
    assert len(image) < 400_000
    checked = inspect_image(image)
    assert checked.width < 1920 and checked.height >= 320
    assert abs(checked.width / checked.height - 1920 / 1080) < 0.01


def test_a_frame_smaller_than_the_shortest_side_allowed_is_scaled_up() -> None:
    checked = inspect_image(frame_for_provider(png(240, 160, noise=False)))
    assert (checked.width, checked.height) == (480, 320)


def test_the_picture_is_kept() -> None:
    image = Image.open(io.BytesIO(frame_for_provider(png(640, 360, noise=False))))
    assert np.abs(np.asarray(image, dtype=np.int16) - (30, 120, 200)).max() <= 3
