"""Starting the Discord bot."""

from __future__ import annotations

from rich.console import Console

from bot import cli
from bot.settings import Settings


def run_bot(settings: Settings, console: Console) -> int:
    console.print("The Discord side is not built yet; showing the configuration check instead.")
    return cli.check(settings, console)
