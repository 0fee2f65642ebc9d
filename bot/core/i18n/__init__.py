"""Speak the reader's language: English (the source), French and Japanese.

Messages are looked up by their English text (the msgid) and an optional context naming where
the text goes (see `LIMITS`); placeholders are named (``{count}``) so a translation may
reorder them. Anything untranslated, and any unsupported locale, gets the English text:
never an error, never an empty string."""

from __future__ import annotations

from bot.core.i18n.catalogues import SOURCE, TRANSLATED, catalogues
from bot.core.i18n.formatting import duration, moment, number
from bot.core.i18n.locales import babel_locale, language_of
from bot.core.i18n.messages import Messages

__all__ = [
    "KEYWORDS",
    "LIMITS",
    "SOURCE",
    "TRANSLATED",
    "Messages",
    "babel_locale",
    "catalogues",
    "duration",
    "language_of",
    "lookup",
    "moment",
    "ngettext",
    "number",
    "translate",
]

#: Message contexts (msgctxt) and the Discord limit of the place each goes, in characters.
#: The catalogue check holds every msgid and translation to its context's limit.
#: "command": command, sub-command and option descriptions ("Application Command Object":
#: 1-100); "choice": choice names (1-100); "message" (no context): message content (2000).
LIMITS: dict[str, int] = {"command": 100, "choice": 100, "message": 2000}

#: The functions `pybabel extract` and the catalogue check find messages in, as Babel
#: keyword specs (README, "Adding a language"): argument numbers of the msgid, the plural
#: and ("c") the context.
KEYWORDS = ("tr:1c,2", "translate:2", "ngettext:2,3")


def _package() -> Messages:
    return Messages(catalogues())


def lookup(locale: str | None, msgid: str, *, context: str | None = None) -> str | None:
    """`Messages.lookup` in the package's catalogues."""
    return _package().lookup(locale, msgid, context=context)


def translate(
    locale: str | None, msgid: str, /, *, context: str | None = None, **params: object
) -> str:
    """`Messages.translate` in the package's catalogues."""
    return _package().translate(locale, msgid, context=context, **params)


def ngettext(
    locale: str | None,
    singular: str,
    plural: str,
    n: int,
    /,
    *,
    context: str | None = None,
    **params: object,
) -> str:
    """`Messages.ngettext` in the package's catalogues."""
    return _package().ngettext(locale, singular, plural, n, context=context, **params)
