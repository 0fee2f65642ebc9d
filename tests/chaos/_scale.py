"""How big the chaos runs are: small in the default test run, full with REELBOT_CHAOS=full."""

from __future__ import annotations

import os

FULL = os.environ.get("REELBOT_CHAOS", "").lower() == "full"


def scaled(small: int, full: int) -> int:
    return full if FULL else small
