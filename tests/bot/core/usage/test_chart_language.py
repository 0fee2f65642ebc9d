"""The usage chart speaks the admin's language: its title, axis label, dates and "no use" text,
and Japanese is drawn with a font that has its glyphs (matplotlib warns "Glyph ... missing
from font(s)" for each character it would draw as an empty box)."""

from __future__ import annotations

import warnings
from datetime import date

import pytest

from bot.core.usage import UsageRow, usage_chart_png
from bot.core.usage import chart as chart_module
from bot.core.usage.chart import chart_texts

ROWS = [UsageRow(date(2026, 11, 1), "runcomfy", 3), UsageRow(date(2026, 11, 2), "wavespeed", 2)]
DAYS = [date(2026, 11, 1), date(2026, 11, 2)]


def missing_glyphs(locale: str, rows: list[UsageRow]) -> list[str]:
    """Matplotlib's warnings about characters it had no glyph for, drawing the chart."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        usage_chart_png(rows, first_day=DAYS[0], last_day=DAYS[-1], locale=locale)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.mark.parametrize(
    ("locale", "title", "axis", "empty", "first_day"),
    [
        ("en-US", "Units used per day", "units", "no use in this period", "Nov 1"),
        ("fr", "Unités utilisées par jour", "unités", "aucune utilisation sur cette période",
         "1 nov."),
        ("ja", "1 日あたりの使用ユニット", "ユニット", "この期間の使用はありません", "11月1日"),
    ],
)  # fmt: skip
def test_the_charts_words_and_dates_are_in_the_admins_language(
    locale: str, title: str, axis: str, empty: str, first_day: str
) -> None:
    texts = chart_texts(locale, DAYS)

    assert (texts.title, texts.axis, texts.empty) == (title, axis, empty)
    assert texts.days[0] == first_day


@pytest.mark.parametrize("rows", [ROWS, []], ids=["with-use", "without-use"])
def test_a_japanese_chart_has_a_glyph_for_every_character(rows: list[UsageRow]) -> None:
    assert missing_glyphs("ja", rows) == []


def test_without_a_japanese_font_the_chart_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chart_module, "japanese_font", lambda: None)

    texts = chart_texts("ja", DAYS)

    assert (texts.title, texts.axis, texts.days[0]) == ("Units used per day", "units", "Nov 1")
    assert missing_glyphs("ja", []) == []  # English words, drawn without empty boxes
