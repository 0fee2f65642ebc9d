"""A PNG bar chart of a server's use: units per day, one stacked colour per provider.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global figure
state), imported on first use so importing the bot does no font-cache I/O, and rendered in a
worker thread by `render_usage_chart`.

Its words and dates are in the reader's language (the chart answers an admin privately).
DejaVu Sans, the font matplotlib ships, has no Japanese glyphs: Japanese is drawn with
IPAexGothic from the `matplotlib-fontja` package (read by path, never imported, so matplotlib's
global settings stay as they are), as a per-glyph fallback after DejaVu Sans. Without that
font a Japanese reader gets an English chart rather than empty boxes."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from babel.dates import format_skeleton

from bot.core.i18n import babel_locale, language_of, translate

log = logging.getLogger(__name__)

WIDTH_PX = 1000
HEIGHT_PX = 500
DPI = 100


@dataclass(frozen=True, slots=True)
class UsageRow:
    day: date
    provider: str
    units: int


#: The font matplotlib ships, for every language but the glyphs it lacks.
BASE_FONT = "DejaVu Sans"
#: Languages whose text needs the Japanese font.
_NEEDS_JAPANESE_FONT = frozenset({"ja"})


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@functools.cache
def japanese_font() -> str | None:
    """The family name of the Japanese font, registered with matplotlib's font manager (once
    per process), or None if the package that carries it is not installed."""
    spec = importlib.util.find_spec("matplotlib_fontja")  # finds it without importing it
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    fonts = [Path(place) / "fonts" / "ipaexg.ttf" for place in locations]
    path = next((font for font in fonts if font.is_file()), None)
    if path is None:
        log.warning("no Japanese font for the usage chart: Japanese readers get English")
        return None
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    return str(font_manager.FontProperties(fname=str(path)).get_name())


@dataclass(frozen=True, slots=True)
class ChartTexts:
    """The chart's words, in the language they are drawn in, and the fonts to draw them."""

    title: str
    axis: str
    empty: str
    days: list[str]  # one label per day
    fonts: list[str]


def chart_texts(locale: str | None, days: Sequence[date]) -> ChartTexts:
    """The title, the y axis label, the "no use" text and the day labels ("Nov 1", "1 nov.",
    "11月1日") in the reader's language, or in English if no font can draw it."""
    fonts = [BASE_FONT]
    if language_of(locale) in _NEEDS_JAPANESE_FONT:
        family = japanese_font()
        if family is None:
            locale = None
        else:
            fonts.append(family)
    place = babel_locale(locale)
    return ChartTexts(
        title=translate(locale, "Units used per day", context="message"),
        axis=translate(locale, "units", context="message"),
        empty=translate(locale, "no use in this period", context="message"),
        days=[format_skeleton("MMMd", day, locale=place) for day in days],
        fonts=fonts,
    )


def usage_chart_png(
    rows: Sequence[UsageRow],
    *,
    first_day: date,
    last_day: date,
    locale: str | None = None,
    width_px: int = WIDTH_PX,
    height_px: int = HEIGHT_PX,
) -> bytes:
    """The chart as PNG bytes, `width_px` × `height_px`, in a Discord locale's language; days
    without use show as empty."""
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = _days(first_day, last_day)
    texts = chart_texts(locale, days)
    fonts = texts.fonts
    index = {day: n for n, day in enumerate(days)}
    providers = sorted({row.provider for row in rows})
    totals = {p: [0] * len(days) for p in providers}
    for row in rows:
        if row.day in index:
            totals[row.provider][index[row.day]] += row.units

    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(days)))
    bottom = [0] * len(days)
    for provider in providers:
        axes.bar(positions, totals[provider], bottom=bottom, label=provider)
        bottom = [b + u for b, u in zip(bottom, totals[provider], strict=True)]
    step = max(1, len(days) // 10)
    axes.set_xticks(positions[::step], texts.days[::step], fontfamily=fonts)
    axes.set_ylabel(texts.axis, fontfamily=fonts)
    axes.set_title(texts.title, fontfamily=fonts)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if providers:
        axes.legend(loc="upper left", prop={"family": fonts})
    else:
        axes.text(0.5, 0.5, texts.empty, ha="center", va="center", fontfamily=fonts,
                  transform=axes.transAxes)  # fmt: skip
    axes.set_ylim(bottom=0)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


async def render_usage_chart(
    rows: Sequence[UsageRow],
    *,
    first_day: date,
    last_day: date,
    locale: str | None = None,
) -> bytes:
    """`usage_chart_png` in a worker thread, off the event loop."""
    return await asyncio.to_thread(
        usage_chart_png, list(rows), first_day=first_day, last_day=last_day, locale=locale
    )
