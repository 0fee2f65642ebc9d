"""Moderation that needs no Discord: the per-server prompt filter."""

from bot.core.moderation.prompt_filter import (
    MAX_PROMPT_CHARS,
    MAX_REGEX_CHARS,
    MAX_WORD_CHARS,
    TIMEOUT_EXCERPT,
    FilterMatch,
    FilterRule,
    InvalidRule,
    PromptFilter,
    normalize,
    validate_rule,
)

__all__ = [
    "MAX_PROMPT_CHARS",
    "MAX_REGEX_CHARS",
    "MAX_WORD_CHARS",
    "TIMEOUT_EXCERPT",
    "FilterMatch",
    "FilterRule",
    "InvalidRule",
    "PromptFilter",
    "normalize",
    "validate_rule",
]
