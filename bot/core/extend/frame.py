"""The last frame as the image the provider gets: JPEG within the providers' image rules
(`bot.core.images`: under 4.7 MB, each side 320-4096 px). A PNG of a detailed 1080P frame can
pass 4.7 MB; JPEG at quality 90 is a tenth of that, and the picture is scaled (never cropped,
so its shape is kept) only when a side is out of bounds or the file is still too large."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from bot.core.images import MAX_BYTES, MAX_SIDE, MIN_SIDE

if TYPE_CHECKING:  # Pillow is imported where an extension needs it, not at start-up
    from PIL import Image

log = logging.getLogger(__name__)

QUALITY = 90
LOWEST_QUALITY = 60
SHRINK = 0.8


def _bounded(image: Image.Image) -> Image.Image:
    width, height = image.size
    scale = 1.0
    if max(width, height) > MAX_SIDE:
        scale = MAX_SIDE / max(width, height)
    elif min(width, height) < MIN_SIDE:
        scale = MIN_SIDE / min(width, height)
    if scale == 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, _lanczos())


def _lanczos() -> Image.Resampling:
    from PIL import Image

    return Image.Resampling.LANCZOS


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def frame_for_provider(picture: bytes, *, max_bytes: int = MAX_BYTES) -> bytes:
    """JPEG bytes of `picture` (any image Pillow reads) within the providers' image rules.
    Blocking (Pillow): call it in a worker thread."""
    from PIL import Image

    with Image.open(io.BytesIO(picture)) as opened:
        image = _bounded(opened.convert("RGB"))
    quality = QUALITY
    data = _jpeg(image, quality)
    while len(data) >= max_bytes:
        if quality > LOWEST_QUALITY:
            quality -= 10
        elif min(image.size) * SHRINK >= MIN_SIDE:
            image = image.resize(
                (round(image.width * SHRINK), round(image.height * SHRINK)),
                _lanczos(),
            )
        else:
            break  # the image check refuses it with its own words
        data = _jpeg(image, quality)
    log.debug("last frame: %dx%d JPEG q%d, %d bytes", image.width, image.height, quality, len(data))
    return data
