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
from bot.core.i18n.places import PUBLIC_LIMITS
from bot.core.i18n.replies import PRIVATE_LIMITS, sentences
from bot.core.i18n.wording import Wording, later

__all__ = [
    "KEYWORDS",
    "LIMITS",
    "SOURCE",
    "TRANSLATED",
    "Messages",
    "Wording",
    "babel_locale",
    "catalogues",
    "duration",
    "language_of",
    "later",
    "lookup",
    "moment",
    "ngettext",
    "number",
    "sentences",
    "translate",
]

#: Message contexts (msgctxt) and the Discord limit of the place each goes, in characters.
#: The catalogue check holds every msgid and translation to its context's limit.
#: "command": command, sub-command and option descriptions ("Application Command Object":
#: 1-100); "choice": choice names (1-100).
#: "message": a private reply's text (message content: 2000).
LIMITS: dict[str, int] = {"command": 100, "choice": 100, "message": 2000}
#: The places of private replies (ephemeral content and embed parts): `replies.PRIVATE_LIMITS`.
LIMITS.update(PRIVATE_LIMITS)
#: The places of public posts (content, embed parts, buttons, modals): `places.PUBLIC_LIMITS`.
LIMITS.update(PUBLIC_LIMITS)

#: The functions `pybabel extract` and the catalogue check find messages in, as Babel
#: keyword specs (README, "Adding a language"): argument numbers of the msgid, the plural
#: and ("c") the context.
#: A message's context is passed by name right after its text(s) (``translate(locale,
#: "Text", context="reply", ...)``): the extractor reads arguments by position.
KEYWORDS = ("tr:1c,2", "translate:2,3c", "ngettext:2,3,5c", "later:1c,2")


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
