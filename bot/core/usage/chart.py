"""A PNG bar chart of a server's use: units per day, one stacked colour per provider.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global figure
state), imported on first use so importing the bot does no font-cache I/O, and rendered in a
worker thread by `render_usage_chart`."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH_PX = 1000
HEIGHT_PX = 500
DPI = 100


@dataclass(frozen=True, slots=True)
class UsageRow:
    day: date
    provider: str
    units: int


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def usage_chart_png(
    rows: Sequence[UsageRow],
    *,
    first_day: date,
    last_day: date,
    title: str = "Units used per day",
    width_px: int = WIDTH_PX,
    height_px: int = HEIGHT_PX,
) -> bytes:
    """The chart as PNG bytes, `width_px` × `height_px`; days without use show as empty."""
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = _days(first_day, last_day)
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
    axes.set_xticks(positions[::step], [d.strftime("%b %d") for d in days[::step]])
    axes.set_ylabel("units")
    axes.set_title(title)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if providers:
        axes.legend(loc="upper left")
    else:
        axes.text(0.5, 0.5, "no use in this period", ha="center", va="center",
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
    title: str = "Units used per day",
) -> bytes:
    """`usage_chart_png` in a worker thread, off the event loop."""
    return await asyncio.to_thread(
        usage_chart_png, list(rows), first_day=first_day, last_day=last_day, title=title
    )
