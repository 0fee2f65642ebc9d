"""The composition root: `reelbot` / `python -m bot`.

reelbot [run]        start the Discord bot
reelbot check        validate the configuration and list ready providers (no paid call)
reelbot generate ... make one video from the terminal
reelbot db upgrade   bring the database schema to this release's (the bot also does at start-up)
reelbot db current   show the database's schema revision
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.console import Console

from bot import cli, cli_db
from bot.core.observability import logs
from bot.core.settings import SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reelbot", description="Reelbot: AI videos in Discord.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the Discord bot (the default)")
    sub.add_parser("check", help="validate the configuration and list ready providers")
    generate = sub.add_parser("generate", help="make one video from the terminal")
    cli.add_generate_arguments(generate)
    db = sub.add_parser("db", help="database schema migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the database to this release's schema")
    db_sub.add_parser("current", help="show the database's schema revision")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # soft_wrap: never break a line (a URL split in two cannot be clicked or pasted).
    console = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)
    try:
        settings = load_settings()
    except SettingsError as error:
        console.print(str(error))
        return cli.EXIT_BAD_INPUT
    logs.configure(level=settings.log_level, fmt=settings.log_format, stream=sys.stderr)
    command = args.command or "run"
    logs.quiet_request_logs(always=command == "generate")
    try:
        if command == "check":
            return cli.check(settings, console)
        if command == "generate":
            return asyncio.run(cli.generate(args, settings, console))
        if command == "db":
            run = cli_db.upgrade if args.db_command == "upgrade" else cli_db.current
            return run(settings.database_url, console)
        from bot.app import run_bot

        return run_bot(settings, console)
    except KeyboardInterrupt:
        console.print("interrupted")
        return cli.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
