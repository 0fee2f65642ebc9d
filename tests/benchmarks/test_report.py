"""REPORT.md's header and sections across full and partial (`--only`) runs."""

from __future__ import annotations

from datetime import UTC, datetime

from benchmarks._report import Section, choose_header, merge_report, render_section

EARLIER = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def section(name: str, figure: str) -> str:
    fresh = Section()
    fresh.add(figure, "1 s")
    return render_section(name, name.title(), fresh)


def full_report() -> str:
    header = choose_header(
        previous=None, now=EARLIER, command="python -m benchmarks", partial=False
    )
    return merge_report(
        header=header,
        fresh={"one": section("one", "old one"), "two": section("two", "old two")},
        order=["one", "two"],
        previous=None,
    )


def test_a_partial_run_keeps_the_previous_header_and_the_sections_it_did_not_run() -> None:
    previous = full_report()
    header = choose_header(
        previous=previous, now=NOW, command="python -m benchmarks --only two", partial=True
    )
    report = merge_report(
        header=header,
        fresh={"two": section("two", "new two")},
        order=["one", "two"],
        previous=previous,
    )

    assert report.startswith(previous[: previous.index("\n## ")])
    assert "Generated 2026-11-01 08:30:00 UTC by `python -m benchmarks`." in report
    assert "2026-11-30" not in report
    assert "--only" not in report
    assert "old one" in report
    assert "new two" in report
    assert "old two" not in report


def test_a_full_run_writes_a_new_header() -> None:
    header = choose_header(
        previous=full_report(), now=NOW, command="python -m benchmarks", partial=False
    )
    assert "Generated 2026-11-30 12:00:00 UTC by `python -m benchmarks`." in header
    assert "partial run" not in header


def test_a_partial_run_with_no_report_yet_says_it_is_partial() -> None:
    for previous in (None, "not a report\n"):
        header = choose_header(
            previous=previous, now=NOW, command="python -m benchmarks --only two", partial=True
        )
        assert header.startswith("# Reelbot benchmarks")
        assert "This was a partial run (`--only`)" in header
