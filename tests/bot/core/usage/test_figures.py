"""A server's usage figures from the ledger and its jobs, on a real database: per UTC day and
provider, refunds deducted, grants left out, other servers and older days left out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.core import quotas
from bot.core.db import Database
from bot.core.jobs.models import JobState
from bot.core.usage import UsageRow, usage
from tests.bot.core.jobdata import DAY, accept, move, new_job

GUILD = 10
# Noon UTC, 2026-11-30: "today" in these tests.
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp()


def job(
    db: Database,
    *,
    user: int,
    at: float,
    provider: str = "runcomfy",
    duration: int = 5,
    end: JobState = JobState.DELIVERED,
    guild: int = GUILD,
) -> None:
    row = new_job(user=user, duration=duration, guild=guild)
    row.provider = provider
    accept(db, row, at)
    for state in (JobState.SUBMITTING, JobState.SUBMITTED):
        move(db, row.id, state, at)
    if end is JobState.DELIVERED:
        for state in (JobState.DOWNLOADING, JobState.DELIVERING):
            move(db, row.id, state, at)
    move(db, row.id, end, at + 60)


@pytest.fixture
def used(db: Database) -> Database:
    job(db, user=1, at=NOW - 3600)  # today, 1 unit
    job(db, user=1, at=NOW - 3600, provider="wavespeed", duration=10)  # today, 2 units
    job(db, user=2, at=NOW - DAY, end=JobState.FAILED)  # yesterday, refunded: 0
    job(db, user=2, at=NOW - DAY, duration=10)  # yesterday, 2 units
    job(db, user=3, at=NOW - 2 * DAY, provider="wavespeed", end=JobState.UNKNOWN)  # held: 1
    job(db, user=4, at=NOW - 40 * DAY)  # outside a 30-day period
    job(db, user=5, at=NOW - 3600, guild=99)  # another server
    with db.session() as session:  # a grant is not use
        quotas.grant(session=session, guild_id=GUILD, user_id=1, units=3, actor_id=7, now=NOW)
        session.commit()
    return db


def test_the_figures_count_what_each_job_cost_per_day_and_provider(used: Database) -> None:
    with used.session() as session:
        figures = usage(session, guild_id=GUILD, days=30, now=NOW)

    assert (figures.first_day, figures.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert figures.jobs == 5
    assert figures.units == 1 + 2 + 0 + 2 + 1
    assert figures.failures == 1
    assert (figures.refunds, figures.refunded_units) == (1, 1)
    assert figures.by_provider == {"runcomfy": 3, "wavespeed": 3}
    assert figures.rows == [
        UsageRow(date(2026, 11, 28), "wavespeed", 1),
        UsageRow(date(2026, 11, 29), "runcomfy", 2),
        UsageRow(date(2026, 11, 30), "runcomfy", 1),
        UsageRow(date(2026, 11, 30), "wavespeed", 2),
    ]
    assert figures.top_members == [(1, 3), (2, 2), (3, 1)]
    assert figures.estimated_cost == {} and figures.total_cost is None


def test_a_shorter_period_starts_at_midnight_utc(used: Database) -> None:
    with used.session() as session:
        figures = usage(session, guild_id=GUILD, days=1, now=NOW)
    assert figures.jobs == 2 and figures.units == 3
    assert figures.first_day == figures.last_day == date(2026, 11, 30)


def test_prices_per_unit_turn_units_into_an_estimated_cost(used: Database) -> None:
    prices = {"runcomfy": Decimal("0.25"), "wavespeed": Decimal("0.10")}
    with used.session() as session:
        figures = usage(session, guild_id=GUILD, days=30, now=NOW, prices=prices)
    assert figures.estimated_cost == {"runcomfy": Decimal("0.75"), "wavespeed": Decimal("0.30")}
    assert figures.total_cost == Decimal("1.05")


def test_a_job_moved_by_failover_counts_under_the_provider_it_ran_on(db: Database) -> None:
    row = new_job(user=1, guild=GUILD)
    accept(db, row, NOW - 60)
    move(db, row.id, JobState.SUBMITTING, NOW - 60)
    move(db, row.id, JobState.SUBMITTED, NOW - 60, provider="wavespeed", failover_from="runcomfy")
    with db.session() as session:
        figures = usage(session, guild_id=GUILD, days=7, now=NOW)
    assert figures.by_provider == {"wavespeed": 1}


@pytest.mark.parametrize("days", [0, 91])
def test_days_outside_1_to_90_are_refused(db: Database, days: int) -> None:
    with db.session() as session, pytest.raises(ValueError, match="between 1 and 90"):
        usage(session, guild_id=GUILD, days=days, now=NOW)
