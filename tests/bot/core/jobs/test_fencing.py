"""Fencing: a process whose job was taken over (its lease moved to another process in the
database, as a takeover after a pause past the lease does) can no longer change the job, nor
can a driver whose lease left its process and came back to it under a newer claim."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from bot.core.db import Database
from bot.core.jobs import fence, store
from bot.core.jobs.contracts import RunnerConfig
from bot.core.jobs.driver import JobDriver
from bot.core.jobs.models import Job, JobState, LedgerEntry, LedgerKind
from bot.core.jobs.moves import JobMoves, LeaseLost
from bot.core.jobs.runner import JobRunner
from providers import Downloader
from tests.bot.core.jobdata import POLICY, accept, new_job

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


def move_row(db: Database, job_id: str, **values: Any) -> None:
    with db.session() as session:
        row = session.get(Job, job_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        session.commit()


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


def claim_orphans(db: Database, *, owner: str, now: float) -> list[str]:
    with db.session() as session:
        claimed = store.claim_orphans(session=session, owner=owner, now=now, until=now + 60)
        session.commit()
        return claimed


def epoch_of(db: Database, job_id: str) -> int:
    return stored(db, job_id).lease_epoch


async def test_a_lease_that_left_a_process_and_came_back_fences_out_its_stalled_driver(
    db: Database,
) -> None:
    # Process A accepts the job (lease until 1060), its driver (epoch read at start) sees it
    # running at the provider, then stalls past its lease.
    job = accept(db, new_job(), now=1000)
    move_row(db, job.id, state=JobState.RUNNING, provider_job_id="a-job", lease_owner="proc-a")
    a = moves_of(db, "proc-a")
    stalled = epoch_of(db, job.id)
    # Process B takes it over, gets the result, and dies (its lease lapses at 1121).
    assert claim_orphans(db, owner="proc-b", now=1061) == [job.id]
    with fence.holding(epoch_of(db, job.id)):
        moved = await moves_of(db, "proc-b").move(
            job.id, JobState.DOWNLOADING, now=1062, video_url="https://b/result.mp4"
        )
    assert moved is not None
    # Process A's recovery claims the orphan back: a fresh driver of A's drives it now.
    assert claim_orphans(db, owner="proc-a", now=1122) == [job.id]
    fresh = epoch_of(db, job.id)
    assert fresh != stalled

    # The stalled driver wakes up, holding the old claim: every write it tries is refused.
    with fence.holding(stalled):
        with pytest.raises(LeaseLost):
            await a.set_fields(job.id, video_url="https://stale/result.mp4", queue_position=9)
        assert await a.move(job.id, JobState.DELIVERING, now=1123) is None
        assert await a.still_holds(job.id) is False
    row = stored(db, job.id)
    assert (row.state, row.video_url, row.queue_position) == (
        JobState.DOWNLOADING,
        "https://b/result.mp4",
        None,
    )

    # The fresh driver goes on from B's progress.
    with fence.holding(fresh):
        assert await a.still_holds(job.id) is True
        moved = await a.move(job.id, JobState.DELIVERING, now=1124)
    assert moved is not None and moved.video_url == "https://b/result.mp4"
    assert stored(db, job.id).state is JobState.DELIVERING


def test_a_stalled_driver_cannot_mark_a_submit_its_process_claimed_again(db: Database) -> None:
    job = accept(db, new_job(), now=1000)
    move_row(db, job.id, state=JobState.SUBMITTING, lease_owner="proc-a")
    stalled = epoch_of(db, job.id)
    assert claim_orphans(db, owner="proc-b", now=1061) == [job.id]
    assert claim_orphans(db, owner="proc-a", now=1122) == [job.id]
    fresh = epoch_of(db, job.id)
    with db.session() as session:
        assert not store.mark_submit_attempt(
            session=session, job_id=job.id, owner="proc-a", epoch=stalled, now=1123
        )
        assert store.mark_submit_attempt(
            session=session, job_id=job.id, owner="proc-a", epoch=fresh, now=1123
        )
        session.commit()
    assert stored(db, job.id).submit_attempted_at == 1123


def test_the_epoch_moves_only_when_the_lease_changes_hands(db: Database) -> None:
    # While the owner is unchanged nobody else acted on the job: its driver stays valid.
    job = accept(db, new_job(), now=1000)
    first = epoch_of(db, job.id)
    assert claim_orphans(db, owner="me", now=1061) == [job.id]
    assert epoch_of(db, job.id) == first
    assert claim_orphans(db, owner="other", now=1122) == [job.id]
    assert epoch_of(db, job.id) == first + 1
    assert claim_orphans(db, owner="me", now=1183) == [job.id]
    assert epoch_of(db, job.id) == first + 2


async def test_a_driver_paused_while_its_lease_went_away_and_came_back_stops_without_writing(
    db: Database,
) -> None:
    """The A -> B -> A sequence through a real driver: process A's driver waits for a slot
    (its pause), meanwhile B takes the job over and submits it, then dies, and A's recovery
    claims it back. The paused driver must neither settle nor resend B's job: it stops and asks
    for a fresh driver."""
    job = accept(db, new_job(), now=1000)
    move_row(db, job.id, lease_owner="proc-a")

    async def pause_while_the_lease_travels(job_id: str) -> None:
        assert claim_orphans(db, owner="proc-b", now=1061) == [job_id]
        b_epoch = epoch_of(db, job_id)
        steps: list[tuple[JobState, dict[str, Any]]] = [
            (JobState.SUBMITTING, {}),
            (JobState.SUBMITTED, {"provider_job_id": "b-job", "submitted_at": 1063}),
        ]
        with db.session() as session:
            for to, fields in steps:
                moved = store.transition(
                    session=session,
                    job_id=job_id,
                    to=to,
                    now=1063,
                    owner="proc-b",
                    epoch=b_epoch,
                    **fields,
                )
                assert moved is not None
            session.commit()
        assert claim_orphans(db, owner="proc-a", now=1122) == [job_id]

    moves = moves_of(db, "proc-a")
    driver = JobDriver(
        db=db,
        moves=moves,
        submitter=None,  # type: ignore[arg-type]  # never reached: the driver stops first
        providers={},  # B's provider is unknown here: a driver that went on would settle it
        downloader=None,  # type: ignore[arg-type]
        config=RunnerConfig(quota=POLICY),
        presenter=NoChat(),  # type: ignore[arg-type]
        owner="proc-a",
        clock=lambda: 1123,
        wait_for_slot=pause_while_the_lease_travels,
    )
    assert await driver.drive(job.id, resumed=False) is True  # a fresh driver takes over
    row = stored(db, job.id)
    assert (row.state, row.provider_job_id, row.lease_owner) == (
        JobState.SUBMITTED,
        "b-job",
        "proc-a",
    )
    assert row.error is None and row.finished_at is None


@contextlib.asynccontextmanager
async def runner_of(db: Database, owner: str) -> AsyncIterator[JobRunner]:
    """A process's runner, not started: its setup-path calls (accept, abandon) only."""
    async with httpx.AsyncClient() as client:
        yield JobRunner(
            db=db,
            providers={},
            downloader=Downloader(client=client, max_bytes=1_000, directory=Path(".")),
            config=RunnerConfig(quota=POLICY, lease_seconds=60),
            presenter=NoChat(),  # type: ignore[arg-type]
            owner=owner,
            clock=lambda: NOW,
        )


def refunds(db: Database, job_id: str) -> list[int]:
    with Session(db.engine) as session:
        rows = session.exec(
            select(LedgerEntry).where(
                LedgerEntry.job_id == job_id, LedgerEntry.kind == LedgerKind.REFUND
            )
        ).all()
        return [row.amount for row in rows]


async def test_a_process_that_cannot_post_its_status_fails_and_refunds_the_job_it_holds(
    db: Database,
) -> None:
    job = accept(db, new_job(), now=1000)
    async with runner_of(db, "me") as runner:
        failed = await runner.abandon(job, "status refused")
    assert failed is not None and failed.state is JobState.FAILED
    assert stored(db, job.id).state is JobState.FAILED and refunds(db, job.id) == [-1]


async def test_a_stale_process_cannot_fail_a_job_another_process_took_over_during_set_up(
    db: Database,
) -> None:
    job = taken_over(db, by="successor")  # accepted by "me", whose lease lapsed mid-set-up
    async with runner_of(db, "me") as runner:
        assert await runner.abandon(job, "status refused") is None
    row = stored(db, job.id)
    assert row.state is JobState.RUNNING and row.lease_owner == "successor"
    assert refunds(db, job.id) == []


async def test_a_set_up_whose_lease_left_and_came_back_cannot_fail_the_new_claim(
    db: Database,
) -> None:
    job = accept(db, new_job(), now=1000)
    # The lease went to another process and back to "me", whose new driver runs the job.
    move_row(db, job.id, state=JobState.RUNNING, lease_epoch=job.lease_epoch + 2)
    async with runner_of(db, "me") as runner:
        assert await runner.abandon(job, "status refused") is None
    assert stored(db, job.id).state is JobState.RUNNING and refunds(db, job.id) == []
