"""Words chosen now and read later, in the reader's language.

The core decides why a request is refused (a server rule, an image problem) without knowing
who reads the answer or in which language. It names the message with `later(context,
msgid, **params)`; the chat side shows it with `Wording.text(locale)`. A parameter may be a
plain value, shown as it is, or a function of the locale (a number or a length of time
formatted for the reader). `pybabel extract` and the catalogue check find the message
through `later` (keyword ``later:1c,2``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.core.i18n.catalogues import SOURCE, catalogues
from bot.core.i18n.messages import Messages

Localised = Callable[[str | None], str]


@dataclass(frozen=True, slots=True)
class Wording:
    msgid: str  # the English text, with {named} placeholders
    context: str  # where it goes (`bot.core.i18n.LIMITS`)
    params: Mapping[str, object] = field(default_factory=dict)

    def text(self, locale: str | None, **extra: object) -> str:
        """The message in a Discord locale's language; `extra` fills placeholders the
        reader's side supplies (someone's own words, escaped for the chat)."""
        values = {
            name: value(locale) if callable(value) else value
            for name, value in {**self.params, **extra}.items()
        }
        return Messages(catalogues()).translate(locale, self.msgid, context=self.context, **values)

    def english(self, **extra: object) -> str:
        """The source text: for logs and the audit log, which are kept in English."""
        return self.text(SOURCE, **extra)


def later(context: str, msgid: str, /, **params: object) -> Wording:
    """A message to translate once its reader's locale is known."""
    return Wording(msgid=msgid, context=context, params=params)
