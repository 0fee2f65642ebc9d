"""What each provider can do per mode, and the check that refuses a request before any HTTP call."""

from __future__ import annotations

from dataclasses import dataclass

from providers.errors import UnsupportedOption
from providers.models import (
    AspectRatio,
    Duration,
    Mode,
    Resolution,
    ResolvedOptions,
    VideoRequest,
)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The values a provider honours for one mode. The first value of each tuple is the default.

    An empty `aspect_ratios` means the shape follows the input image and cannot be chosen.
    """

    aspect_ratios: tuple[AspectRatio, ...]
    durations: tuple[Duration, ...]
    resolutions: tuple[Resolution, ...]

    def resolve(self, request: VideoRequest, *, provider: str) -> ResolvedOptions:
        """Apply defaults and refuse what cannot be honoured, naming the option and the choices."""
        mode = "image-to-video" if request.mode is Mode.IMAGE else "text-to-video"
        aspect: AspectRatio | None
        if request.aspect_ratio is None:
            aspect = self.aspect_ratios[0] if self.aspect_ratios else None
        elif not self.aspect_ratios:
            raise UnsupportedOption(
                f"{provider} {mode} follows the shape of your image, so the aspect ratio "
                f"can't be chosen; leave it out",
                provider=provider,
                option="aspect_ratio",
                value=request.aspect_ratio,
                accepted=(),
            )
        elif request.aspect_ratio not in self.aspect_ratios:
            raise UnsupportedOption(
                f"{provider} {mode} doesn't offer aspect ratio {request.aspect_ratio}; "
                f"choose one of {', '.join(self.aspect_ratios)}",
                provider=provider,
                option="aspect_ratio",
                value=request.aspect_ratio,
                accepted=self.aspect_ratios,
            )
        else:
            aspect = request.aspect_ratio

        duration = request.duration if request.duration is not None else self.durations[0]
        if duration not in self.durations:
            only = (
                f"makes {self.durations[0]}-second clips only, so duration {duration} s isn't "
                "available"
                if len(self.durations) == 1
                else "offers duration " + " or ".join(f"{d} s" for d in self.durations)
            )
            raise UnsupportedOption(
                f"{provider} {mode} {only}",
                provider=provider,
                option="duration",
                value=duration,
                accepted=self.durations,
            )

        resolution = request.resolution if request.resolution is not None else self.resolutions[0]
        if resolution not in self.resolutions:
            only = (
                f"makes {self.resolutions[0]} videos only"
                if len(self.resolutions) == 1
                else "offers " + " or ".join(self.resolutions)
            )
            raise UnsupportedOption(
                f"{provider} {mode} {only}",
                provider=provider,
                option="resolution",
                value=resolution,
                accepted=self.resolutions,
            )
        return ResolvedOptions(aspect_ratio=aspect, duration=duration, resolution=resolution)
