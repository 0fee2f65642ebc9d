"""The provider-neutral vocabulary: what a member asks for and what a provider reports back."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_PROMPT_CHARS = 800
MAX_SEED = 2_147_483_647


class Mode(StrEnum):
    TEXT = "text"
    IMAGE = "image"


class ProviderName(StrEnum):
    RUNCOMFY = "runcomfy"
    WAVESPEED = "wavespeed"

    @property
    def label(self) -> str:
        return {"runcomfy": "RunComfy", "wavespeed": "WaveSpeed"}[self.value]


AspectRatio = Literal["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21"]
ASPECT_RATIOS: tuple[AspectRatio, ...] = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21")
Duration = Literal[5, 10]
DURATIONS: tuple[Duration, ...] = (5, 10)
Resolution = Literal["720P", "1080P"]
RESOLUTIONS: tuple[Resolution, ...] = ("720P", "1080P")


class VideoRequest(BaseModel):
    """A normalized request. `None` for an option means "the provider's default"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode
    prompt: str
    aspect_ratio: AspectRatio | None = None
    duration: Duration | None = None
    resolution: Resolution | None = None
    seed: int = Field(default=-1, ge=-1, le=MAX_SEED)
    image_url: str | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_fits(cls, value: str) -> str:
        value = value.strip()
        if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
            raise ValueError("the prompt contains control characters; remove them")
        visible = "".join(
            c for c in value if unicodedata.category(c) not in ("Cf", "Zs", "Zl", "Zp")
        )
        if not value or not visible.strip():
            raise ValueError("the prompt is empty")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(
                f"the prompt is {len(value)} characters; the limit is {MAX_PROMPT_CHARS}"
            )
        return value

    @model_validator(mode="after")
    def _image_matches_mode(self) -> VideoRequest:
        if self.mode is Mode.IMAGE and not self.image_url:
            raise ValueError("image-to-video needs an image URL")
        if self.mode is Mode.TEXT and self.image_url:
            raise ValueError("text-to-video takes no image; use image mode to animate an image")
        return self


@dataclass(frozen=True, slots=True)
class ResolvedOptions:
    """The options a job will really run with, after the provider's defaults are applied."""

    aspect_ratio: AspectRatio | None  # None: follows the input image
    duration: Duration
    resolution: Resolution


# --- Job updates: a closed set, parsed from the wire in one function per provider. ---


@dataclass(frozen=True, slots=True)
class Queued:
    position: int | None = None


@dataclass(frozen=True, slots=True)
class Running:
    pass


@dataclass(frozen=True, slots=True)
class Succeeded:
    video_url: str
    nsfw: bool = False
    inference_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    moderated: bool = False


@dataclass(frozen=True, slots=True)
class Cancelled:
    pass


JobUpdate = Queued | Running | Succeeded | Failed | Cancelled
FinalUpdate = Succeeded | Failed | Cancelled


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    NOT_CANCELLABLE = "not_cancellable"  # the provider refused: the job is already running
    UNSUPPORTED = "unsupported"  # the provider has no way to cancel
