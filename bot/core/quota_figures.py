"""What a member is shown about their quota, read in one statement: the units counted in the
window, when the oldest of them leaves it, when enough leave it for a request to fit, their
unfinished jobs and (with a budget) their server's spend today; and the refusal those figures
make of a request.

"When enough units free up" is a running total over the window's per-time sums, in time
order: the first time at which the units counted so far, taken off what is used, leave room
for the request. The database computes it (a window function: PostgreSQL docs,
tutorial-window; SQLite docs, windowfunctions.html) and sends back one timestamp, however many
entries the window holds. Both databases get the same statement and give the same figures:
the amounts are integers, summed exactly, and the times are compared as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Table, bindparam, case, cast, func, literal, select
from sqlmodel import Session

from bot.core.errors import BudgetExhausted, QuotaExceeded, Refused, TooManyInFlight
from bot.core.jobs.models import ACTIVE_STATES, Job, LedgerEntry, LedgerKind
from bot.core.quota_policy import DAY, QuotaPolicy, Usage, utc_midnight

LEDGER: Table = LedgerEntry.__table__  # type: ignore[attr-defined]
JOBS: Table = Job.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Figures:
    total: int  # the amounts counted in the window, summed (below 0 after a grant)
    first_at: float | None  # the earliest time whose amounts sum above 0
    fits_at: float | None  # the time whose amounts leaving the window let `need` units fit
    in_flight: int  # the member's unfinished jobs
    spent: int  # the server's spend today (0 unless asked for)

    def usage(self, policy: QuotaPolicy) -> Usage:
        used = max(0, self.total)
        frees_at = None
        if self.first_at is not None and used > 0:
            frees_at = policy.counted_until(self.first_at)
        return Usage(
            used=used,
            limit=policy.limit,
            in_flight=self.in_flight,
            max_in_flight=policy.max_in_flight,
            frees_at=frees_at,
        )

    def available_at(self, *, need: int, policy: QuotaPolicy) -> float | None:
        """When `need` more units fit, as counted amounts leave the window; None if they fit
        now, or never will (more than the whole quota), or nothing leaving makes room."""
        used = max(0, self.total)
        if need > policy.limit or used + need <= policy.limit or self.fits_at is None:
            return None
        return policy.counted_until(self.fits_at)


def read(
    *,
    session: Session,
    guild_id: int | None,
    user_id: int,
    policy: QuotaPolicy,
    now: float,
    need: int = 0,
    budget: bool = False,
) -> Figures:
    """The member's figures now; `fits_at` for a request of `need` units, `spent` with
    `budget`."""
    row = (
        session.connection()
        .execute(
            _statement(budget=budget, guild=guild_id is not None),
            {
                "guild_id": guild_id,
                "user_id": user_id,
                "since": policy.window_start(now),
                "midnight": utc_midnight(now),
                "room": policy.limit - need,
            },
        )
        .one()
    )
    return Figures(
        total=int(row.total),
        first_at=None if row.first_at is None else float(row.first_at),
        fits_at=None if row.fits_at is None else float(row.fits_at),
        in_flight=int(row.in_flight),
        spent=int(row.spent),
    )


def refusal(
    figures: Figures,
    *,
    cost: int,
    policy: QuotaPolicy,
    now: float,
    budget: int | None,
    in_flight: bool,
) -> Refused | None:
    """Why a request of `cost` units is turned down with these figures, or None if it fits:
    the member's unfinished jobs (with `in_flight`), then their quota, then the server's
    budget, in that order."""
    usage = figures.usage(policy)
    if in_flight and usage.in_flight >= policy.max_in_flight:
        return TooManyInFlight(usage)
    if usage.used + cost > policy.limit:
        return QuotaExceeded(usage, cost, figures.available_at(need=cost, policy=policy))
    if budget is not None and figures.spent + cost > budget:
        return BudgetExhausted(figures.spent, budget, utc_midnight(now) + DAY)
    return None


def _member(table: Table, guild: bool) -> list[ColumnElement[bool]]:
    column = table.c.guild_id
    return [
        column == bindparam("guild_id") if guild else column.is_(None),
        table.c.user_id == bindparam("user_id"),
    ]


@cache
def _statement(*, budget: bool, guild: bool) -> Any:
    """Built once per shape (a budget or not, the member's server NULL or not)."""
    # The window's amounts summed per time (ix_ledger_member_counted). Each sum is an integer
    # (int4, as the amounts are), so the running sums over them are int8 on PostgreSQL, not the
    # much slower numeric that summing int8 gives.
    per_time = (
        select(
            LEDGER.c.counted_at.label("at"),
            cast(func.sum(LEDGER.c.amount), Integer).label("amount"),
        )
        .where(*_member(LEDGER, guild), LEDGER.c.counted_at > bindparam("since"))
        .group_by(LEDGER.c.counted_at)
        .cte("per_time")
    )
    totals = select(func.coalesce(func.sum(per_time.c.amount), 0).label("total")).cte("totals")
    # Each time with the amounts counted up to it: enough units fit once the amounts that
    # left the window add up to what is used (below 0 counts as 0) less the room the request
    # needs (the quota less its cost).
    running = select(
        per_time.c.at,
        func.sum(per_time.c.amount).over(order_by=per_time.c.at, rows=(None, 0)).label("freed"),
    ).cte("running")
    used = case((totals.c.total > 0, totals.c.total), else_=0)
    total = select(totals.c.total).scalar_subquery()
    first_at = select(func.min(per_time.c.at)).where(per_time.c.amount > 0).scalar_subquery()
    fits_at = (
        select(func.min(running.c.at))
        .select_from(running.join(totals, literal(True)))
        .where(running.c.freed >= used - bindparam("room"))
        .scalar_subquery()
    )
    in_flight = (
        select(func.count())
        .select_from(JOBS)
        .where(*_member(JOBS, guild), JOBS.c.state.in_(sorted(ACTIVE_STATES)))
        .scalar_subquery()
    )
    spent: Any = literal(0)
    if budget:
        spent = (
            select(func.coalesce(func.sum(LEDGER.c.amount), 0))
            .where(
                _member(LEDGER, guild)[0],
                LEDGER.c.counted_at >= bindparam("midnight"),
                LEDGER.c.kind.in_((LedgerKind.RESERVE, LedgerKind.REFUND)),
            )
            .scalar_subquery()
        )
    return select(
        total.label("total"),
        first_at.label("first_at"),
        fits_at.label("fits_at"),
        in_flight.label("in_flight"),
        spent.label("spent"),
    )
