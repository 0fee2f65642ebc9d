"""Realistic generation times: per configuration (mode, duration, resolution) a log-normal
running time around a median, plus, for RunComfy, a log-normal queue time with queue positions
counting down. Seeded, so a run is repeatable.

Neither provider documents its generation times; the medians are the caller's (between 45 and
120 s for Dreamina 3.0 clips), the spread a log-normal sigma (0.2: about 20 %)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._model import Flavor
from ._script import JobScript

# RunComfy's two Dreamina models take frames, not seconds (providers/runcomfy.py: FRAMES).
_SECONDS_OF_FRAMES = {121: 5, 241: 10}

ConfigKey = tuple[str, int, str]
"""(mode "text" or "image", duration in seconds, resolution "720P"/"1080P")."""


def config_of(model_id: str, body: Any) -> ConfigKey:
    """The configuration a submit asks for, read from the wire body as the provider sees it."""
    mode = "image" if "image-to-video" in model_id else "text"
    fields = body if isinstance(body, dict) else {}
    frames = fields.get("frames", fields.get("number_of_frames"))
    duration = _SECONDS_OF_FRAMES.get(frames, 5) if isinstance(frames, int) else 5
    resolution = fields.get("resolution", "1080P")
    return mode, duration, resolution if isinstance(resolution, str) else "1080P"


@dataclass
class GenerationTimes:
    """Draws each new job's script from its configuration's distribution."""

    medians: Mapping[ConfigKey, float]
    """Median running seconds per configuration; others get `default_median`."""
    spread: float = 0.2
    """Sigma of the running time's logarithm."""
    queue_median: float = 0.0
    """RunComfy only: median seconds queued (0: never queued)."""
    queue_spread: float = 0.5
    seed: int = 0
    default_median: float = 60.0
    drawn: list[tuple[ConfigKey, JobScript]] = field(default_factory=list)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def median(self, key: ConfigKey) -> float:
        return self.medians.get(key, self.default_median)

    def script_for(self, flavor: Flavor, model_id: str, body: Any) -> JobScript:
        key = config_of(model_id, body)
        run = self.median(key) * math.exp(self._rng.gauss(0.0, self.spread))
        queue = 0.0
        positions: list[int] = []
        if flavor == "runcomfy" and self.queue_median > 0:
            queue = self.queue_median * math.exp(self._rng.gauss(0.0, self.queue_spread))
            positions = list(range(self._rng.randint(1, 4), 0, -1))
        script = JobScript(queue_seconds=queue, queue_positions=positions, run_seconds=run)
        self.drawn.append((key, script))
        return script
