"""What a quota is and what a member has used of it: plain values, shared by the quota
functions (`bot.core.quotas`) and the refusals that report them (`bot.core.errors`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    limit: int  # units per window
    window_seconds: float
    max_in_flight: int  # a member's unfinished jobs
    cost_5s: int = 1
    cost_10s: int = 2
    daily: bool = False  # the window is the UTC day instead of the last `window_seconds`

    def cost(self, duration: int) -> int:
        return self.cost_10s if duration >= 10 else self.cost_5s

    def window_start(self, now: float) -> float:
        return utc_midnight(now) if self.daily else now - self.window_seconds

    def counted_until(self, counted_at: float) -> float:
        """When an amount counted at `counted_at` leaves the window."""
        if self.daily:
            return utc_midnight(counted_at) + DAY
        return counted_at + self.window_seconds


DAY = 86_400.0


def utc_midnight(now: float) -> float:
    return now - (now % DAY)


@dataclass(frozen=True, slots=True)
class Usage:
    used: int
    limit: int
    in_flight: int
    max_in_flight: int
    frees_at: float | None  # when the oldest counted unit leaves the window

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)
