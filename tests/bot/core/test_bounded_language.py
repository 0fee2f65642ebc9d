"""A bounded list's "… and N more" speaks its reader's language, and still fits its room."""

from __future__ import annotations

import pytest

from bot.core.bounded import bounded_join

CHANNELS = [f"<#{n:019d}>" for n in range(200)]


@pytest.mark.parametrize(
    ("locale", "rest"),
    [(None, "… and 191 more"), ("fr", "… et 191 autres"), ("ja", "…ほか 190 件")],
)
def test_the_rest_of_a_long_list_is_counted_in_the_readers_language(
    locale: str | None, rest: str
) -> None:
    listed = bounded_join(CHANNELS, limit=250, locale=locale)

    assert listed.endswith(rest)
    assert len(listed) <= 250
