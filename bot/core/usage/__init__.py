"""Usage at a glance (Discord-free): a server's figures from the ledger and the per-day,
per-provider chart for `/reelbot usage`."""

from bot.core.usage.chart import UsageRow, render_usage_chart, usage_chart_png
from bot.core.usage.figures import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS, Usage, usage

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "MIN_DAYS",
    "Usage",
    "UsageRow",
    "render_usage_chart",
    "usage",
    "usage_chart_png",
]
