"""Choosing how to re-encode a video to fit a byte limit: a bit rate from the limit and the
length (with a margin for the container and the encoder's overshoot), then the largest picture
size, in the same aspect, that the bit rate can fill without turning to blocks. Pure arithmetic,
no video work."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

SAFETY = 0.92
"""Share of the limit aimed at; the rest absorbs the encoder's overshoot."""
CONTAINER_BYTES = 48 * 1024
"""Room kept for the MP4 index and headers (a 10 s clip's index is a few KiB)."""
AUDIO_BIT_RATE = 96_000
MIN_AUDIO_BIT_RATE = 48_000
MIN_VIDEO_BIT_RATE = 120_000
"""Below this even the smallest picture is mush: give up and post the link."""
GOOD_BITS_PER_PIXEL = 0.06
"""Bits per pixel per frame at which H.264 (x264 'veryfast') still looks clean."""
SHORT_SIDES = (2160, 1440, 1080, 720, 540, 480, 360, 240)
"""Picture heights tried (the short side, for portrait clips), largest first."""
MIN_SHORT_SIDE = 240


@dataclass(frozen=True, slots=True)
class FitPlan:
    width: int
    height: int
    video_bit_rate: int
    audio_bit_rate: int | None


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The source size, then each smaller rung of the ladder, in the source's aspect."""
    short, long = min(width, height), max(width, height)
    out = [(_even(width), _even(height))]
    for side in SHORT_SIDES:
        if side >= short or side < MIN_SHORT_SIDE:
            continue
        other = _even(side * long / short)
        out.append((other, side) if width >= height else (side, other))
    return out


def plan_fit(
    *,
    limit_bytes: int,
    duration: float,
    width: int,
    height: int,
    fps: Fraction,
    has_audio: bool,
    scale: float = 1.0,
) -> FitPlan | None:
    """The encode to try, or None when the limit cannot hold an acceptable one.

    `scale` < 1 lowers the aim after an attempt came out too big.
    """
    if duration <= 0:
        return None
    budget_bits = (limit_bytes * SAFETY - CONTAINER_BYTES) * 8 * scale
    total_rate = budget_bits / duration
    audio_rate: int | None = None
    if has_audio:
        audio_rate = AUDIO_BIT_RATE
        if total_rate - audio_rate < MIN_VIDEO_BIT_RATE:
            audio_rate = MIN_AUDIO_BIT_RATE
    video_rate = int(total_rate - (audio_rate or 0))
    if video_rate < MIN_VIDEO_BIT_RATE:
        return None
    candidates = sizes(width, height)
    for w, h in candidates:
        if video_rate / (w * h * float(fps)) >= GOOD_BITS_PER_PIXEL:
            return FitPlan(w, h, video_rate, audio_rate)
    w, h = candidates[-1]
    return FitPlan(w, h, video_rate, audio_rate)
