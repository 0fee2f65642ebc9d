"""Usage at a glance (Discord-free): the per-day, per-provider chart for `/reelbot usage`."""

from bot.core.usage.chart import UsageRow, render_usage_chart, usage_chart_png

__all__ = ["UsageRow", "render_usage_chart", "usage_chart_png"]
