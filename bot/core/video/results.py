"""What video work answers with: plain data, importable without PyAV (the bot imports this at
start-up; PyAV and NumPy load when video work first runs)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path


@dataclass(frozen=True, slots=True)
class VideoInfo:
    duration: float
    """Seconds, of the video track (the container's when the track does not say)."""
    width: int
    height: int
    codec: str
    """FFmpeg's codec name of the video track, e.g. "h264"."""
    fps: Fraction
    audio_codec: str | None
    """None when the file has no audio track."""
    size_bytes: int

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def aspect(self) -> float:
        return self.width / self.height


@dataclass(frozen=True, slots=True)
class FitResult:
    path: Path
    """The file that fits; the source itself when it already did (`reencoded` False)."""
    size_bytes: int
    width: int
    height: int
    duration: float
    reencoded: bool
    attempts: int
