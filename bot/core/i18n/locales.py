"""Discord's locale codes ("fr", "ja", "en-US", "es-419", ...) mapped to what we speak."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from bot.core.i18n.catalogues import SOURCE, TRANSLATED

#: The English variants keep their region for formatting (dates differ between en-US and
#: en-GB); every other unsupported code falls back to plain English.
_ENGLISH_REGIONS = {"en-US": "en_US", "en-GB": "en_GB"}


def language_of(code: str | None) -> str:
    """The catalogue language for a Discord locale code: "fr", "ja" or "en" (the fallback
    for anything unsupported, unknown, empty or missing)."""
    if not code:
        return SOURCE
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in TRANSLATED else SOURCE


def babel_locale(code: str | None) -> Locale:
    """The Babel locale numbers, durations and times are formatted in: the catalogue's
    language, so the figures match the words around them."""
    language = language_of(code)
    name = _ENGLISH_REGIONS.get(code or "", "en") if language == SOURCE else language
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError):  # pragma: no cover - Babel ships en, fr and ja
        return Locale.parse("en")
