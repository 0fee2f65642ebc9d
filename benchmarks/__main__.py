"""Run the benchmarks and write `benchmarks/REPORT.md`.

    python -m benchmarks [--quick] [--only NAME ...]

To add a benchmark, write a module exposing `NAME: str`, `TITLE: str` and
`async def run(quick: bool) -> Section` (see `benchmarks/_report.py`), and list it in
`BENCHMARKS` below. With `--only`, the other sections already in REPORT.md are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import traceback
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from benchmarks import (
    ack_floor,
    bot_load,
    download_rss,
    http_client,
    learned_poll,
    pipeline,
    poll_lag,
    quota_contention,
    reencode,
    status_load,
    two_processes,
    webhook_lag,
)
from benchmarks._report import (
    Section,
    choose_header,
    machine_summary,
    merge_report,
    render_section,
)


class Benchmark(Protocol):
    NAME: str
    TITLE: str

    def run(self, quick: bool) -> Coroutine[Any, Any, Section]: ...


# The registry: every benchmark, in report order.
BENCHMARKS: list[Benchmark] = [
    poll_lag,
    learned_poll,
    webhook_lag,
    download_rss,
    bot_load,
    ack_floor,
    http_client,
    pipeline,
    quota_contention,
    two_processes,
    status_load,
    reencode,
]

REPORT = Path(__file__).resolve().with_name("REPORT.md")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [b.NAME for b in BENCHMARKS]
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller, faster runs (rougher)")
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        choices=names,
        help=f"run only these benchmarks ({', '.join(names)}); other report sections are kept",
    )
    return parser.parse_args(argv)


def run_one(bench: Benchmark, *, quick: bool) -> tuple[Section, bool]:
    """Run one benchmark in its own event loop. A crash becomes a failed section."""
    print(f"\n=== {bench.TITLE} ({bench.NAME}){' [quick]' if quick else ''} ===", flush=True)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    crashed = False
    try:
        section = asyncio.run(bench.run(quick))
    except Exception as error:  # noqa: BLE001 - a crashed benchmark is reported, not fatal
        traceback.print_exc()
        crashed = True
        section = Section()
        section.add(
            "benchmark ran to the end",
            f"crashed: {type(error).__name__}: {error}",
            "yes",
            met=False,
        )
    wall = time.perf_counter() - started
    mode = "quick" if quick else "full"
    section.notes.insert(
        0,
        f"Measured {started_at:%Y-%m-%d %H:%M:%S} UTC, {mode} mode, {wall:.1f} s wall time, "
        f"on {machine_summary()}.",
    )
    return section, crashed


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    selected = [b for b in BENCHMARKS if not args.only or b.NAME in args.only]
    command = "python -m benchmarks" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    fresh: dict[str, str] = {}
    any_crash = False
    unmet: list[str] = []
    started = time.perf_counter()
    for bench in selected:
        section, crashed = run_one(bench, quick=args.quick)
        any_crash |= crashed
        unmet += [f"{bench.NAME}: {r.figure}" for r in section.rows if r.met is False]
        text = render_section(bench.NAME, bench.TITLE, section)
        fresh[bench.NAME] = text
        print("\n" + text, flush=True)

    previous = REPORT.read_text(encoding="utf-8") if REPORT.exists() else None
    header = choose_header(
        previous=previous,
        now=datetime.now(UTC),
        command=command,
        partial=len(selected) < len(BENCHMARKS),
    )
    report = merge_report(
        header=header, fresh=fresh, order=[b.NAME for b in BENCHMARKS], previous=previous
    )
    scratch = REPORT.with_suffix(".md.tmp")
    scratch.write_text(report, encoding="utf-8")
    os.replace(scratch, REPORT)

    total = time.perf_counter() - started
    print(f"Wrote {REPORT} ({len(selected)} benchmark(s), {total:.1f} s wall time).")
    if unmet:
        print("Targets not met:\n  " + "\n  ".join(unmet))
    else:
        print("All targets met.")
    return 1 if any_crash else 0


if __name__ == "__main__":
    sys.exit(main())
