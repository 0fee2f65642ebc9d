"""Where private replies put text, and Discord's limit there, in characters: the message
contexts (msgctxt) of what a member or admin reads alone (ephemeral answers to their own
commands and buttons), in the member's own locale (`interaction.locale`).

Discord's documentation: resources/message, "Create Message" (content up to 2000 characters)
and "Embed Limits" (title 256, field name 256, field value 1024)."""

from __future__ import annotations

from bot.core.i18n.locales import language_of

PRIVATE_LIMITS: dict[str, int] = {
    "reply": 2000,
    "reply_title": 256,
    "reply_field_name": 256,
    "reply_field_value": 1024,
}

#: Languages whose sentences follow one another without a space (after "。").
_NO_SPACE_BETWEEN_SENTENCES = frozenset({"ja"})


def sentences(locale: str | None, *parts: str) -> str:
    """Sentences put together as the reader's language does: "One. Two." in English and
    French, "一。二。" in Japanese."""
    language = language_of(locale)
    return ("" if language in _NO_SPACE_BETWEEN_SENTENCES else " ").join(p for p in parts if p)
