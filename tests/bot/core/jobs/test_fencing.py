"""Fencing: a process whose job was taken over (its lease moved to another process in the
database, as a takeover after a pause past the lease does) can no longer change the job."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.core.db import Database
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.moves import JobMoves, LeaseLost
from tests.bot.core.jobdata import accept, new_job

NOW = 2000.0


class NoChat:
    """The moves under test never show anything: every call fails the test."""

    async def show_status(self, job: Job, *, waiting_position: int | None = None) -> bool:
        raise AssertionError("nothing is shown")


def moves_of(db: Database, owner: str) -> JobMoves:
    return JobMoves(
        db=db,
        presenter=NoChat(),  # type: ignore[arg-type]
        owner=owner,
        clock=lambda: NOW,
        notify=lambda: None,
        lease_seconds=60,
    )


def taken_over(db: Database, by: str) -> Job:
    """A job that process "me" was driving, now leased to `by`."""
    job = accept(db, new_job(), now=1000)
    with db.session() as session:
        row = session.get(Job, job.id)
        assert row is not None
        row.state = JobState.RUNNING
        row.provider_job_id = "successor-job"
        row.lease_owner = by
        row.lease_expires_at = NOW + 60
        session.add(row)
        session.commit()
    return job


def stored(db: Database, job_id: str) -> Job:
    with Session(db.engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


async def test_a_process_whose_job_was_taken_over_cannot_move_it(db: Database) -> None:
    job = taken_over(db, by="successor")
    moved = await moves_of(db, "me").move(job.id, JobState.DOWNLOADING, now=NOW, video_url="x")
    assert moved is None
    row = stored(db, job.id)
    assert row.state is JobState.RUNNING and row.video_url is None


async def test_a_process_whose_job_was_taken_over_cannot_write_its_fields(db: Database) -> None:
    job = taken_over(db, by="successor")
    with pytest.raises(LeaseLost):
        await moves_of(db, "me").set_fields(job.id, queue_position=7, provider_job_id="stale")
    row = stored(db, job.id)
    assert row.provider_job_id == "successor-job" and row.queue_position is None


async def test_the_lease_holder_still_writes_its_fields(db: Database) -> None:
    job = taken_over(db, by="successor")
    await moves_of(db, "successor").set_fields(job.id, queue_position=3)
    assert stored(db, job.id).queue_position == 3


async def test_a_stalled_poster_finds_it_no_longer_holds_the_job_before_posting(
    db: Database,
) -> None:
    job = taken_over(db, by="successor")
    assert await moves_of(db, "me").still_holds(job.id) is False
    assert stored(db, job.id).lease_owner == "successor"


async def test_the_holder_of_a_lapsed_lease_nobody_took_renews_it_before_posting(
    db: Database,
) -> None:
    job = accept(db, new_job(), now=1000)  # owner "me", lease until 1060: lapsed at NOW
    assert await moves_of(db, "me").still_holds(job.id) is True
    assert stored(db, job.id).lease_expires_at == NOW + 60
