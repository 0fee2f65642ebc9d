"""What a benchmark hands back (`Section`), and `REPORT.md`: its header, rendering and merging.

Each section starts with a level-2 heading that carries the benchmark's NAME in backticks,
`## Title (`name`)`, so a partial run (`--only`) can replace its own sections and keep the others.
"""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPORT_TITLE = "# Reelbot benchmarks"
_HEADING = re.compile(r"^## .*\(`(?P<name>[A-Za-z0-9_]+)`\)\s*$")


@dataclass(frozen=True, slots=True)
class Row:
    figure: str
    measured: str
    target: str = "—"
    met: bool | None = None
    """None: a figure given for reference, with no target."""


@dataclass(slots=True)
class Section:
    """One benchmark's results: a table of figures and free-form note lines."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: str, measured: str, target: str = "—", met: bool | None = None) -> None:
        self.rows.append(Row(figure, measured, target, met))

    def note(self, line: str) -> None:
        self.notes.append(line)

    @property
    def all_met(self) -> bool:
        return all(row.met is not False for row in self.rows)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def met_text(met: bool | None) -> str:
    return {True: "yes", False: "**NO**", None: "—"}[met]


def render_table(rows: list[Row]) -> list[str]:
    lines = ["| figure | measured | target | met? |", "|---|---|---|---|"]
    lines += [
        f"| {_cell(r.figure)} | {_cell(r.measured)} | {_cell(r.target)} | {met_text(r.met)} |"
        for r in rows
    ]
    return lines


def render_section(name: str, title: str, section: Section) -> str:
    lines = [f"## {title} (`{name}`)", "", *render_table(section.rows)]
    if section.notes:
        lines.append("")
        lines += [f"- {note}" for note in section.notes]
    return "\n".join(lines) + "\n"


def split_sections(text: str) -> dict[str, str]:
    """The sections of an existing report, by benchmark name, each as its original text."""
    sections: dict[str, str] = {}
    current: str | None = None
    buffer: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            if current is not None:
                sections[current] = "".join(buffer)
            match = _HEADING.match(line.rstrip("\n"))
            current = match["name"] if match else None
            buffer = [line]
        elif current is not None:
            buffer.append(line)
    if current is not None:
        sections[current] = "".join(buffer)
    return {name: body.rstrip("\n") + "\n" for name, body in sections.items()}


# ----- the header: when and where


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _total_memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _os_name() -> str:
    pretty = ""
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    kernel = f"{platform.system()} {platform.release()} {platform.machine()}"
    return f"{pretty} ({kernel})" if pretty else kernel


def machine_lines() -> list[str]:
    return [
        f"- CPU: {_cpu_model()}, {os.cpu_count() or '?'} cores",
        f"- Memory: {_total_memory()}",
        f"- Python: {platform.python_version()} ({platform.python_implementation()})",
        f"- OS: {_os_name()}",
    ]


def render_header(*, now: datetime, command: str, partial: bool) -> str:
    lines = [
        REPORT_TITLE,
        "",
        f"Generated {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by `{command}`.",
        "",
        *machine_lines(),
        "",
        "Each section records when and in which mode it was measured.",
    ]
    if partial:
        lines.append(
            "This was a partial run (`--only`): sections not run were kept from the previous "
            "report and may come from another date or machine."
        )
    return "\n".join(lines) + "\n"


def machine_summary() -> str:
    """The machine in one phrase, for a section's own run line."""
    return f"{_cpu_model()}, {os.cpu_count() or '?'} cores, Python {platform.python_version()}"


def header_of(text: str) -> str | None:
    """An existing report's header: everything before its first section (None if it has no
    title line)."""
    if not text.startswith(REPORT_TITLE):
        return None
    cut = text.find("\n## ")
    return (text if cut < 0 else text[: cut + 1]).rstrip("\n") + "\n"


def choose_header(*, previous: str | None, now: datetime, command: str, partial: bool) -> str:
    """A full run writes a new header. A partial run keeps the previous one as it was (its
    date and machine describe the sections it did not run); the sections it ran carry their own
    run line (date, mode, machine). With no previous header, a new one says it is partial."""
    kept = header_of(previous) if partial and previous else None
    if kept is not None:
        return kept
    return render_header(now=now, command=command, partial=partial)


def merge_report(
    *, header: str, fresh: dict[str, str], order: list[str], previous: str | None
) -> str:
    """The new report: `fresh` sections replace their namesakes, the rest are kept as they were.

    Sections follow `order` (the registry); old sections of benchmarks no longer registered come
    last, unchanged."""
    kept = split_sections(previous) if previous else {}
    parts = [header]
    for name in order:
        if name in fresh:
            parts.append(fresh[name])
        elif name in kept:
            parts.append(kept[name])
    parts += [body for name, body in kept.items() if name not in order and name not in fresh]
    return "\n".join(parts)
