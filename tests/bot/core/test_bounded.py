"""Bounded lists: whole items only, the rest counted, never over the limit."""

from __future__ import annotations

import pytest

from bot.core.bounded import bounded_join


def test_a_list_that_fits_is_shown_whole() -> None:
    assert bounded_join(["a", "b"], limit=10) == "a, b"
    assert bounded_join([], limit=10, empty="none") == "none"


@pytest.mark.parametrize("limit", [20, 50, 99, 1024, 2000])
def test_a_long_list_is_cut_between_items_and_counted(limit: int) -> None:
    items = [f"<#{1_290_000_000_000_000_000 + i}>" for i in range(500)]
    text = bounded_join(items, limit=limit)
    assert len(text) <= limit
    *shown, rest = text.split(", ")
    assert all(item in items for item in shown)
    assert rest == f"… and {500 - len(shown)} more"


def test_an_item_longer_than_the_limit_is_only_counted() -> None:
    assert bounded_join(["x" * 50], limit=20) == "… and 1 more"
