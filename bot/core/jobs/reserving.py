"""Storing a new job with its checks and its reservation, in as few round trips as the database
allows: the path every accepted request takes, so it is built for speed.

- On PostgreSQL, one call: `reelbot_store_job` (migration 0010) takes the member's lock (and,
  with a daily budget, the server's), reads the member's usage in the window, their unfinished
  jobs and the server's spend today, and, only if every limit holds, inserts the job, its
  ledger entry and its audit entry. Each statement in the function reads the rows committed
  when it starts (PostgreSQL docs, plpgsql-implementation; transaction-iso under READ
  COMMITTED), so the figures are read after the lock is held and every spend made under it
  before is counted. Run in autocommit mode, as the bot runs it, the call is its own
  transaction: the lock is held for the call alone, and the request costs one round trip.
- On SQLite, whose write transactions run one at a time (`BEGIN IMMEDIATE`, `bot.core.db`), the
  figures in one statement and the three rows in three inserts: there is no round trip to save.

SQLite's statements are SQLAlchemy Core, built once per shape (the member's guild NULL or not,
a budget or not, reserved or held) and compiled once per engine (SQLAlchemy's compiled cache);
PostgreSQL's is one fixed call (`STORE_JOB`), sent on psycopg's own connection and prepared
there (`call_store_job`). Never ORM objects and a flush.

A refused request is decided under the lock too, by the same call, and explained to the member
with the figures read under it (`bot.core.quota_figures`: the usage, when enough units free up):
on PostgreSQL the function works them out when it refuses (migration 0011), so a request is one
call whether it is stored or refused, and the call may run in autocommit mode
(`Database.run(autocommit=True)`); on SQLite they are read by one more statement, under the
write lock already held.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    literal,
    select,
)
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql import Executable
from sqlmodel import Session

from bot.core import quota_figures, quotas
from bot.core.audit import AuditAction, AuditEntry, job_audit_values
from bot.core.db import driver_errors
from bot.core.errors import Refused
from bot.core.jobs.models import ACTIVE_STATES, Job, LedgerEntry, LedgerKind
from bot.core.quota_policy import QuotaPolicy, utc_midnight

JOBS: Table = Job.__table__  # type: ignore[attr-defined]
LEDGER: Table = LedgerEntry.__table__  # type: ignore[attr-defined]
AUDIT: Table = AuditEntry.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class _Shape:
    """A SQLite statement's variant."""

    guild: bool  # the job has a server (guild_id not NULL)
    budget: bool  # the server has a daily budget to check
    reserve: bool  # a ledger entry is written (not a job held for review)


def store_new(
    *,
    session: Session,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    budget: int | None,
    hold: bool,
) -> None:
    """Insert `job` (its fields already set) with its ledger and audit entries, if the member
    (and the server) can spend its cost now; else raise what `quota_figures.refusal` makes of
    the figures read under the lock. `job` is left detached, as if loaded and its session
    closed."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        pooled = connection.connection
        with driver_errors(connection.dialect, pooled.driver_connection, connection.invalidate):
            refused = call_store_job(
                pooled.driver_connection, job=job, policy=policy, now=now, budget=budget, hold=hold
            )
    else:
        refused = _stored(session, job=job, policy=policy, now=now, budget=budget, hold=hold)
    if refused is not None:
        raise refused
    detached(job)


def detached(job: Job) -> Job:
    """`job`, stored, as if loaded and its session closed (not when a transaction lost at
    COMMIT is run again: it already is)."""
    if inspect(job).transient:
        make_transient_to_detached(job)
    return job


def call_store_job(
    connection: Any,
    *,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    budget: int | None,
    hold: bool,
) -> Refused | None:
    """PostgreSQL: lock, check and insert in one call of `reelbot_store_job`, sent on the
    driver's (psycopg's) `connection`; None if the job was stored, else why not, from the
    figures the call sent back. A reservation is the bot's busiest statement, and SQLAlchemy's
    execution of it costs more CPU than the call itself, so it is sent on the driver's own
    connection (`bot.core.db.driver_errors` raises its errors as SQLAlchemy's)."""
    values = function_values(job=job, policy=policy, now=now, budget=budget, hold=hold)
    with connection.cursor() as cursor:
        cursor.execute(STORE_JOB, values, prepare=True)
        used, in_flight, spent, first_at, fits_at, stored = cursor.fetchone()
    if stored:
        return None
    figures = quota_figures.Figures(
        total=int(used),
        first_at=first_at,
        fits_at=fits_at,
        in_flight=int(in_flight),
        spent=int(spent),
    )
    return _surely(
        quota_figures.refusal(
            figures, cost=job.cost, policy=policy, now=now, budget=budget, in_flight=True
        )
    )


def _surely(refused: Refused | None) -> Refused:
    """The refusal of a request refused under the lock, by the figures read under it."""
    if refused is None:  # pragma: no cover - the two tests of the limits are one rule
        raise RuntimeError("a request refused under the lock fits by its figures")
    return refused


def function_values(
    *, job: Job, policy: QuotaPolicy, now: float, budget: int | None, hold: bool
) -> dict[str, Any]:
    """`STORE_JOB`'s parameters for `job`."""
    job_row, audit = _rows(job=job, now=now, hold=hold)
    return {
        **_limits(policy=policy, now=now, budget=budget),
        "guild_id": job.guild_id,
        "user_id": job.user_id,
        "cost": job.cost,
        "active": _ACTIVE,
        "spent_kinds": _SPENT_KINDS,
        "reserve_kind": None if hold else LedgerKind.RESERVE.value,
        "job": _json(job_row),
        "audit": _json(audit),
    }


# The function's text parameters: the state and kind names the code owns, passed on each call.
_ACTIVE = sorted(state.value for state in ACTIVE_STATES)
_SPENT_KINDS = [LedgerKind.RESERVE.value, LedgerKind.REFUND.value]

# A short statement with few parameters in psycopg's own placeholders, prepared on the server
# at its first call on each connection (psycopg docs, advanced/prepare).
STORE_JOB = """
    SELECT used, in_flight, spent, first_at, fits_at, stored FROM reelbot_store_job(
        %(guild_id)s, %(user_id)s, %(cost)s, %(since)s, %(midnight)s, %(limit)s,
        %(max_in_flight)s, %(budget)s, %(now)s, %(active)s::text[], %(spent_kinds)s::text[],
        %(reserve_kind)s, %(job)s::json, %(audit)s::json)
"""


def _stored(
    session: Session,
    *,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    budget: int | None,
    hold: bool,
) -> Refused | None:
    """SQLite: check the limits and insert the rows if they hold, under the write lock; None
    if the job was stored, else why not."""
    connection = session.connection()
    shape = _Shape(guild=job.guild_id is not None, budget=budget is not None, reserve=not hold)
    values = _values(job=job, policy=policy, now=now, budget=budget, hold=hold)
    if not _fits(connection.execute(_figures(shape), values).one(), values):
        return _surely(
            quotas.refusal(
                session=session, job=job, policy=policy, now=now, budget=budget, in_flight=True
            )
        )
    for statement in _inserts(shape):
        connection.execute(statement, values)
    return None


def _fits(row: Any, values: dict[str, Any]) -> bool:
    """Whether the limits hold (the SQLite side of `reelbot_store_job`'s test), on the figures
    read under the write lock."""
    if row.in_flight >= values["max_in_flight"]:
        return False
    if max(0, row.used) + values["j_cost"] > values["limit"]:
        return False
    return values["budget"] is None or row.spent + values["j_cost"] <= values["budget"]


def _limits(*, policy: QuotaPolicy, now: float, budget: int | None) -> dict[str, Any]:
    """The parameters both databases' checks compare the member's figures with."""
    return {
        "since": policy.window_start(now),
        "midnight": utc_midnight(now),
        "limit": policy.limit,
        "max_in_flight": policy.max_in_flight,
        "budget": budget,
        "now": now,
    }


def _rows(*, job: Job, now: float, hold: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job's and its audit entry's column values."""
    action = AuditAction.HELD if hold else AuditAction.ACCEPTED
    job_row = {column.name: getattr(job, column.name) for column in JOBS.columns}
    return job_row, job_audit_values(job=job, action=action, now=now)


def _values(
    *, job: Job, policy: QuotaPolicy, now: float, budget: int | None, hold: bool
) -> dict[str, Any]:
    job_row, audit = _rows(job=job, now=now, hold=hold)
    return {
        **{f"j_{name}": value for name, value in job_row.items()},
        **{f"a_{name}": value for name, value in audit.items()},
        **_limits(policy=policy, now=now, budget=budget),
    }


def _member(table: Table, shape: _Shape) -> list[ColumnElement[bool]]:
    guild = table.c.guild_id
    return [
        guild == bindparam("j_guild_id") if shape.guild else guild.is_(None),
        table.c.user_id == bindparam("j_user_id"),
    ]


def _figure_columns(shape: _Shape) -> list[Any]:
    """The member's units counted in the window, their unfinished jobs, and the server's
    spend today (0 unless checked): each a scalar subquery on an index range
    (ix_ledger_member_counted, ix_job_user_state, ix_ledger_guild_counted)."""
    used = select(func.coalesce(func.sum(LEDGER.c.amount), 0)).where(
        *_member(LEDGER, shape), LEDGER.c.counted_at > bindparam("since")
    )
    in_flight = select(func.count()).where(
        *_member(JOBS, shape), JOBS.c.state.in_(sorted(ACTIVE_STATES))
    )
    spent: Any = literal(0)
    if shape.budget:
        guild = _member(LEDGER, shape)[0]
        spent = select(func.coalesce(func.sum(LEDGER.c.amount), 0)).where(
            guild,
            LEDGER.c.counted_at >= bindparam("midnight"),
            LEDGER.c.kind.in_((LedgerKind.RESERVE, LedgerKind.REFUND)),
        )
        spent = spent.scalar_subquery()
    return [
        used.scalar_subquery().label("used"),
        in_flight.scalar_subquery().label("in_flight"),
        spent.label("spent"),
    ]


@cache
def _figures(shape: _Shape) -> Executable:
    return select(*_figure_columns(shape))


def _job_binds() -> list[Any]:
    return [bindparam(f"j_{column.name}", type_=column.type) for column in JOBS.columns]


def _ledger_row(job_id: Any) -> dict[str, Any]:
    return {
        "guild_id": bindparam("j_guild_id", type_=LEDGER.c.guild_id.type),
        "user_id": bindparam("j_user_id", type_=LEDGER.c.user_id.type),
        "job_id": job_id,
        "kind": literal(LedgerKind.RESERVE, LEDGER.c.kind.type),
        "amount": bindparam("j_cost", type_=LEDGER.c.amount.type),
        "counted_at": bindparam("now", type_=LEDGER.c.counted_at.type),
        "created_at": bindparam("now", type_=LEDGER.c.created_at.type),
        "note": literal(None, LEDGER.c.note.type),
        "actor_id": literal(None, LEDGER.c.actor_id.type),
    }


def _audit_row(job_id: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        column.name: bindparam(f"a_{column.name}", type_=column.type)
        for column in AUDIT.columns
        if column.name != "id"
    }
    row["job_id"] = job_id
    return row


@cache
def _inserts(shape: _Shape) -> tuple[Executable, ...]:
    """SQLite: the job, its reservation and its audit entry, one insert each."""
    job_id = bindparam("j_id", type_=JOBS.c.id.type)
    statements: list[Executable] = [
        insert(JOBS).values({c.name: bindparam(f"j_{c.name}", type_=c.type) for c in JOBS.columns})
    ]
    if shape.reserve:
        statements.append(insert(LEDGER).values(_ledger_row(job_id)))
    statements.append(insert(AUDIT).values(_audit_row(job_id)))
    return tuple(statements)


def _json(values: dict[str, Any]) -> str:
    """A row as JSON text; NUL dropped from strings, as `bot.core.db` does for every other
    parameter (PostgreSQL text cannot hold it)."""
    return json.dumps(
        {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in values.items()}
    )
