"""Lists shown to people, bounded to the room of the place they go ("… and 9 more").

Discord's limits (docs resources/message, "Embed Limits"): message content 2000 characters,
embed description 4096, field value 1024, 25 fields, 6000 for all of a message's embeds."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.i18n import ngettext

CONTENT = 2000
DESCRIPTION = 4096
FIELD = 1024
FIELDS = 25
EMBED_TOTAL = 6000


def more(count: int, locale: str | None = None) -> str:
    """ "… and 9 more", in a Discord locale's language."""
    return ngettext(locale, "… and {n} more", "… and {n} more", count, context="reply")


def bounded_join(
    items: Sequence[str],
    *,
    limit: int,
    sep: str = ", ",
    empty: str = "",
    locale: str | None = None,
) -> str:
    """As many whole items as fit in `limit` characters, joined by `sep`, then "… and N
    more" (in `locale`'s language) for the rest. Never longer than `limit` (for any `limit`
    of 20 or more)."""
    if not items:
        return empty
    joined = sep.join(items)
    if len(joined) <= limit:
        return joined
    reserve = len(sep) + len(more(len(items), locale))
    shown: list[str] = []
    used = 0
    for item in items:
        extra = len(item) + (len(sep) if shown else 0)
        if used + extra + reserve > limit:
            break
        shown.append(item)
        used += extra
    rest = more(len(items) - len(shown), locale)
    return sep.join([*shown, rest]) if shown else rest
