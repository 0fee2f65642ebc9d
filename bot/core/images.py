"""Checking an input image before anything is charged: JPEG or PNG by its bytes, size and
dimension rules from the providers' schema, dimensions read from the header under a pixel cap so
a decompression bomb is refused without being decoded."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from bot.core.errors import Refused
from bot.core.i18n import Wording, later, number

MAX_BYTES = 4_700_000  # "less than 4.7 MB"
MAX_SIDE = 4096
MIN_SIDE = 320
MAX_RATIO = 3.0
PIXEL_CAP = MAX_SIDE * MAX_SIDE

_SIGNATURES = {
    b"\xff\xd8\xff": ("JPEG", "image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("PNG", "image/png", "png"),
}


class ImageRejected(Refused):
    """`wording` tells the member what to change (translated when shown)."""

    def __init__(self, wording: Wording) -> None:
        self.wording = wording
        super().__init__(wording.english())


@dataclass(frozen=True, slots=True)
class CheckedImage:
    kind: str  # "JPEG" or "PNG"
    content_type: str
    extension: str
    width: int
    height: int


def check_size(size: int) -> None:
    if size >= MAX_BYTES:
        megabytes = round(size / 1_000_000, 1)
        raise ImageRejected(
            later(
                "reply",
                "The image is {megabytes} MB; it must be under {limit} MB. "
                "Try a smaller or more compressed copy.",
                megabytes=lambda locale: number(locale, megabytes),
                limit=lambda locale: number(locale, MAX_BYTES / 1_000_000),
            )
        )


def inspect_image(data: bytes) -> CheckedImage:
    """Validate an image's bytes. Blocking (Pillow): call it in a worker thread."""
    from PIL import Image, UnidentifiedImageError  # only when an image comes: 15 MiB idle

    check_size(len(data))
    kind = next((v for sig, v in _SIGNATURES.items() if data.startswith(sig)), None)
    if kind is None:
        raise ImageRejected(
            later(
                "reply",
                "That file is not a JPEG or PNG image (judged from its contents, not its "
                "name). Please attach a .jpg or .png.",
            )
        )
    name, content_type, extension = kind
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[name]) as image:
                width, height = image.size  # from the header; no pixel is decoded
                if width * height > PIXEL_CAP:
                    raise ImageRejected(_too_big(width, height))
                image.verify()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected(
            later(
                "reply",
                "That image declares far more pixels than allowed; "
                "each side must be at most {most} px.",
                most=MAX_SIDE,
            )
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageRejected(
            later(
                "reply",
                "That {kind} file is damaged or incomplete; please re-export it.",
                kind=name,
            )
        ) from error
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageRejected(_too_big(width, height))
    if min(width, height) < MIN_SIDE:
        raise ImageRejected(
            later(
                "reply",
                "The image is {width}×{height} px; its shortest side must be at least {least} px.",
                width=width,
                height=height,
                least=MIN_SIDE,
            )
        )
    if max(width, height) / min(width, height) > MAX_RATIO:
        raise ImageRejected(
            later(
                "reply",
                "The image is {width}×{height} px, more than 3 times as long as it is wide; "
                "crop it to at most 3:1.",
                width=width,
                height=height,
            )
        )
    return CheckedImage(
        kind=name, content_type=content_type, extension=extension, width=width, height=height
    )


def _too_big(width: int, height: int) -> Wording:
    return later(
        "reply",
        "The image is {width}×{height} px; each side must be at most {most} px.",
        width=width,
        height=height,
        most=MAX_SIDE,
    )
