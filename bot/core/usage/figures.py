"""A server's use over the last days, from the quota ledger and the jobs it charged.

A job counts on the UTC day it was charged (its reservation), under the provider it ended on.
Its units are what it costs now: the reservation, less a refund. A refund counts at its
reservation's time (`quotas`), so a refunded job is in the same day's figures with 0 units.
Grants (extra units an admin gave) are not use and are left out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from bot.core.jobs.models import Job, JobState, LedgerEntry, LedgerKind
from bot.core.usage.chart import UsageRow

MIN_DAYS = 1
MAX_DAYS = 90
DEFAULT_DAYS = 30
TOP_MEMBERS = 5


@dataclass(frozen=True, slots=True)
class Usage:
    first_day: date
    last_day: date
    jobs: int  # jobs charged in the period (delivered, failed, cancelled, unknown, running)
    units: int  # units they cost, refunds deducted
    failures: int  # jobs that failed (each refunded)
    refunds: int  # jobs given their units back (failures, cancels, an admin's refund)
    refunded_units: int
    by_provider: dict[str, int]  # units per provider
    rows: list[UsageRow]  # units per day and provider, for the chart
    top_members: list[tuple[int, int]]  # (user id, units), most first
    estimated_cost: dict[str, Decimal] = field(default_factory=dict)  # per priced provider

    @property
    def total_cost(self) -> Decimal | None:
        return sum(self.estimated_cost.values(), Decimal(0)) if self.estimated_cost else None


def period(days: int, *, today: date) -> tuple[date, date]:
    """The first and last UTC day of the last `days` days, today included."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"days must be between {MIN_DAYS} and {MAX_DAYS}")
    return today - timedelta(days=days - 1), today


def _start_of(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def usage(
    session: Session,
    *,
    guild_id: int,
    days: int,
    now: float,
    prices: Mapping[str, Decimal] | None = None,
) -> Usage:
    """The server's use in the last `days` UTC days (today included)."""
    today = datetime.fromtimestamp(now, UTC).date()
    first, last = period(days, today=today)
    since, until = _start_of(first), _start_of(last + timedelta(days=1))
    query = (
        select(
            col(LedgerEntry.job_id),
            col(LedgerEntry.user_id),
            col(LedgerEntry.kind),
            col(LedgerEntry.amount),
            col(LedgerEntry.counted_at),
            col(Job.provider),
            col(Job.state),
        )
        .join(Job, col(Job.id) == col(LedgerEntry.job_id))
        .where(
            col(LedgerEntry.guild_id) == guild_id,
            col(LedgerEntry.kind).in_([LedgerKind.RESERVE, LedgerKind.REFUND]),
            col(LedgerEntry.counted_at) >= since,
            col(LedgerEntry.counted_at) < until,
        )
    )
    charged: dict[str, tuple[int, str, JobState, date]] = {}
    units: Counter[str] = Counter()
    refunded: dict[str, int] = {}
    for job_id, user_id, kind, amount, counted_at, provider, state in session.execute(query).all():
        if job_id is None:  # pragma: no cover - the join keeps only a job's entries
            continue
        units[job_id] += amount
        if kind == LedgerKind.RESERVE:
            day = datetime.fromtimestamp(counted_at, UTC).date()
            charged[job_id] = (user_id, provider, JobState(state), day)
        else:
            refunded[job_id] = refunded.get(job_id, 0) - amount
    per_day: Counter[tuple[date, str]] = Counter()
    by_provider: Counter[str] = Counter()
    members: Counter[int] = Counter()
    for job_id, (user_id, provider, _state, day) in charged.items():
        per_day[(day, provider)] += units[job_id]
        by_provider[provider] += units[job_id]
        members[user_id] += units[job_id]
    costs = {
        provider: Decimal(spent) * prices[provider]
        for provider, spent in sorted(by_provider.items())
        if prices is not None and provider in prices
    }
    return Usage(
        first_day=first,
        last_day=last,
        jobs=len(charged),
        units=sum(units[j] for j in charged),
        failures=sum(1 for _u, _p, state, _d in charged.values() if state is JobState.FAILED),
        refunds=sum(1 for j in charged if j in refunded),
        refunded_units=sum(v for j, v in refunded.items() if j in charged),
        by_provider=dict(sorted(by_provider.items())),
        rows=[
            UsageRow(day=day, provider=provider, units=n)
            for (day, provider), n in sorted(per_day.items())
        ],
        top_members=sorted(
            ((u, n) for u, n in members.items() if n > 0), key=lambda item: (-item[1], item[0])
        )[:TOP_MEMBERS],
        estimated_cost=costs,
    )
