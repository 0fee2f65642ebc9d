"""Looking messages up in a set of catalogues, with English as the fallback for everything."""

from __future__ import annotations

import gettext
import logging
from collections.abc import Mapping

from bot.core.i18n.catalogues import SOURCE
from bot.core.i18n.locales import language_of

log = logging.getLogger(__name__)


def _fill(text: str, source: str, params: Mapping[str, object]) -> str:
    if not params:
        return text
    try:
        return text.format_map(params)
    except (KeyError, IndexError, ValueError):
        log.exception("translation %r does not fit its parameters; using English", text)
        return source.format_map(params)


class Messages:
    """The translated languages' tables (`catalogues.load`), keyed by language."""

    def __init__(self, tables: Mapping[str, gettext.NullTranslations]) -> None:
        self.tables = tables

    def _table(self, locale: str | None) -> gettext.NullTranslations | None:
        language = language_of(locale)
        return None if language == SOURCE else self.tables.get(language)

    def lookup(self, locale: str | None, msgid: str, *, context: str | None = None) -> str | None:
        """The translation of `msgid` for a Discord locale, or None if there is none
        (English, an unsupported locale, or an entry missing from the catalogue)."""
        table = self._table(locale)
        if table is None:
            return None
        text = table.pgettext(context, msgid) if context else table.gettext(msgid)
        return text if text and text != msgid else None

    def translate(
        self, locale: str | None, msgid: str, /, *, context: str | None = None, **params: object
    ) -> str:
        """`msgid` in the language of a Discord locale code, with ``{name}`` placeholders
        filled from `params`."""
        text = self.lookup(locale, msgid, context=context) or msgid
        return _fill(text, msgid, params)

    def ngettext(
        self,
        locale: str | None,
        singular: str,
        plural: str,
        n: int,
        /,
        *,
        context: str | None = None,
        **params: object,
    ) -> str:
        """The form of a counted message the locale's plural rule picks for `n` (French: one
        form for 0 and 1, another from 2; Japanese: a single form). `n` is also ``{n}``."""
        source = singular if n == 1 else plural
        table = self._table(locale)
        if table is None:
            text = source
        elif context:
            text = table.npgettext(context, singular, plural, n)
        else:
            text = table.ngettext(singular, plural, n)
        return _fill(text or source, source, {"n": n, **params})
