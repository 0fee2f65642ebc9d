"""How long jobs took, per provider, mode, duration and resolution: the learned poller's history.

One row per finished job: when it was submitted, first seen running and first seen finished
(wall-clock seconds), the provider's own inference time where it reports one (WaveSpeed
`timings.inference`), and the two samples the schedule learns from: `run_seconds` (from the
moment the job may have started running to its estimated completion) and `queue_seconds` (where
the provider reported the job queued). The table lives in the database, so every process shares
it and it survives restarts; each configuration keeps its newest `keep` rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Index, delete
from sqlmodel import Field, Session, SQLModel, col, select


@dataclass(frozen=True, slots=True)
class TimingKey:
    """The jobs whose times cluster: one provider, mode, duration and resolution."""

    provider: str
    mode: str
    duration: int
    resolution: str


class JobTiming(SQLModel, table=True):
    __tablename__ = "job_timing"
    __table_args__ = (
        Index("ix_job_timing_key", "provider", "mode", "duration", "resolution", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=32)
    provider: str = Field(max_length=16)
    mode: str = Field(max_length=16)
    duration: int
    resolution: str = Field(max_length=16)
    submitted_at: float
    running_at: float | None = None  # first seen running (None: never seen running)
    completed_at: float  # first seen finished
    inference_seconds: float | None = None  # as the provider reported it
    run_seconds: float
    queue_seconds: float | None = None
    recorded_at: float = Field(default_factory=time.time)


def _of(key: TimingKey) -> tuple[ColumnElement[bool], ...]:
    return (
        col(JobTiming.provider) == key.provider,
        col(JobTiming.mode) == key.mode,
        col(JobTiming.duration) == key.duration,
        col(JobTiming.resolution) == key.resolution,
    )


def record(*, session: Session, timing: JobTiming, keep: int) -> None:
    """Add one job's times and drop its configuration's rows beyond the newest `keep`."""
    session.add(timing)
    session.flush()
    key = TimingKey(timing.provider, timing.mode, timing.duration, timing.resolution)
    cutoff = session.exec(
        select(JobTiming.id)
        .where(*_of(key))
        .order_by(col(JobTiming.id).desc())
        .offset(keep)
        .limit(1)
    ).first()
    if cutoff is not None:
        session.execute(delete(JobTiming).where(*_of(key), col(JobTiming.id) <= cutoff))


def run_times(*, session: Session, key: TimingKey, limit: int) -> list[float]:
    """The newest `limit` running times of the configuration, newest first."""
    rows = session.exec(
        select(JobTiming.run_seconds)
        .where(*_of(key))
        .order_by(col(JobTiming.id).desc())
        .limit(limit)
    ).all()
    return list(rows)


def queue_times(*, session: Session, key: TimingKey, limit: int) -> list[float]:
    """The newest `limit` queue times of the configuration (where the provider reported a
    queue), newest first."""
    rows = session.exec(
        select(JobTiming.queue_seconds)
        .where(*_of(key), col(JobTiming.queue_seconds).is_not(None))
        .order_by(col(JobTiming.id).desc())
        .limit(limit)
    ).all()
    return [row for row in rows if row is not None]
