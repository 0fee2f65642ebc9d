"""Fencing tokens for a job's lease: the process that holds it (`lease_owner`) and which of
that process's claims it is (`lease_epoch`, raised each time the lease moves to a process
from another one, or from none).

The owner alone is not enough: a lease can leave a process and come back to it (A paused past
its lease, B took the job over, B died, A's recovery claimed it again). A's paused driver would
then pass an owner check and overwrite B's progress. Each driver therefore carries the epoch it
started under, and every write it makes requires both.

The epoch travels with the driver's task (a context variable, bound when the driver starts:
each asyncio task runs in its own copy of the context, so concurrent drivers never see each
other's), and the shared recorder (`JobMoves`) and the submit step read it for each write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import ColumnElement, case
from sqlmodel import col

from bot.core.jobs.models import Job

_EPOCH: ContextVar[int | None] = ContextVar("reelbot_lease_epoch", default=None)


def bind(epoch: int) -> None:
    """The current task (a job's driver) acts under this claim of its job's lease."""
    _EPOCH.set(epoch)


def current() -> int | None:
    """The epoch the current task acts under; None outside a driver (owner checks only)."""
    return _EPOCH.get()


@contextmanager
def holding(epoch: int) -> Iterator[None]:
    """Act under `epoch` for the duration of the block."""
    token = _EPOCH.set(epoch)
    try:
        yield
    finally:
        _EPOCH.reset(token)


def held_by(owner: str, epoch: int | None) -> list[ColumnElement[bool]]:
    """The conditions of a fenced write: `owner` holds the lease, under `epoch` if given."""
    conditions = [col(Job.lease_owner) == owner]
    if epoch is not None:
        conditions.append(col(Job.lease_epoch) == epoch)
    return conditions


def claim(owner: str, until: float) -> dict[str, Any]:
    """The values of an UPDATE that gives `owner` the lease until `until`. The epoch is raised
    unless `owner` already held it: while the owner is unchanged nobody else acted on the job,
    so its driver (if any) stays valid; once it changed, every older driver is fenced out."""
    return {
        "lease_owner": owner,
        "lease_expires_at": until,
        # SET expressions read the row as it was before the UPDATE (SQL standard; both
        # SQLite and PostgreSQL do so).
        "lease_epoch": case(
            (col(Job.lease_owner) == owner, col(Job.lease_epoch)),
            else_=col(Job.lease_epoch) + 1,
        ),
    }
