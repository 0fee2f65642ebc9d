"""Extend (Discord-free): a clip continued from the last frame of a delivered one, and the
chain of such clips joined into one longer video. `chain` plans an extension and keeps the
chain's length in bounds, `frame` makes the last frame fit the providers' image rules, and
`joining` posts the joined video once the new clip is delivered (exactly once, across
restarts)."""

from bot.core.extend.chain import (
    JOIN_FAILED,
    JOIN_OWED,
    JOIN_POSTED,
    Blocked,
    ChainLink,
    ExtensionPlan,
    chain_seconds,
    plan_extension,
)
from bot.core.extend.frame import frame_for_provider
from bot.core.extend.joining import ChainJoiner, ChainPoster

__all__ = [
    "JOIN_FAILED",
    "JOIN_OWED",
    "JOIN_POSTED",
    "Blocked",
    "ChainJoiner",
    "ChainLink",
    "ChainPoster",
    "ExtensionPlan",
    "chain_seconds",
    "frame_for_provider",
    "plan_extension",
]
