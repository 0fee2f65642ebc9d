"""One provider-slot cap for every process: two processes (two engines, two lease owners) over
one database, with their claims interleaved at the worst moment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from bot.core.db import Database
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.slots import BUSY_STATES, SlotPass, claim_slots
from tests.bot.core.jobdata import accept, move, new_job

NOW = 1030.0  # the jobs below were accepted at 1000 with 60 s leases: still held


@pytest.fixture
def other(db: Database) -> Iterator[Database]:
    """A second process's connection to the same database."""
    database = Database.connect(db.engine.url.render_as_string(hide_password=False))
    yield database
    database.close()


def owned_by(db: Database, job: Job, owner: str, *, lease_until: float = 1060.0) -> None:
    with db.session() as session:
        row = session.get(Job, job.id)
        assert row is not None
        row.lease_owner = owner
        row.lease_expires_at = lease_until
        session.add(row)
        session.commit()


def claim(db: Database, *, mine: set[str], owner: str, cap: int) -> list[str]:
    return [job.id for job in slot_pass(db, mine=mine, owner=owner, cap=cap).claimed]


def slot_pass(db: Database, *, mine: set[str], owner: str, cap: int) -> SlotPass:
    with db.session() as session:
        result = claim_slots(session, mine=mine, cap=cap, owner=owner, now=NOW, lease_seconds=60)
        session.commit()
        return result


def lease_of(db: Database, job: Job) -> tuple[str | None, float | None]:
    with db.session() as session:
        row = session.get(Job, job.id)
        assert row is not None
        return row.lease_owner, row.lease_expires_at


def busy(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.exec(select(Job.id).where(col(Job.state).in_(BUSY_STATES))).all())


def test_two_processes_claiming_at_once_never_exceed_the_cap_and_the_oldest_goes_first(
    db: Database, other: Database
) -> None:
    # Cap 2, one job already at the provider: one slot free. Process A's job waited longest.
    running = accept(db, new_job(user=1), now=900)
    assert move(db, running.id, JobState.SUBMITTING, now=901) is not None
    oldest = accept(db, new_job(user=2), now=1000)
    newer = accept(db, new_job(user=3), now=1001)
    owned_by(db, oldest, "process-a")
    owned_by(db, newer, "process-b")

    # Process B has counted the busy jobs; before it reads the queue, process A claims.
    a_claimed: list[str] = []
    a_done = threading.Event()

    def a_claims() -> None:
        a_claimed.extend(claim(other, mine={oldest.id}, owner="process-a", cap=2))
        a_done.set()

    fired = False

    def after_count(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, _many: bool
    ) -> None:
        nonlocal fired
        if not fired and "count(" in statement.lower():
            fired = True
            thread = threading.Thread(target=a_claims)
            thread.start()
            thread.join(timeout=1.0)  # A either finishes, or waits for B's claim to end

    event.listen(db.engine, "after_cursor_execute", after_count)
    try:
        b_claimed = claim(db, mine={newer.id}, owner="process-b", cap=2)
    finally:
        event.remove(db.engine, "after_cursor_execute", after_count)
    assert a_done.wait(timeout=30)

    assert fired
    assert sorted(busy(db)) == sorted([running.id, oldest.id])  # never 3 with a cap of 2
    assert a_claimed == [oldest.id]  # the oldest waiting job got the slot
    assert b_claimed == []


def test_a_newer_job_waits_while_an_older_one_of_another_process_waits(
    db: Database, other: Database
) -> None:
    oldest = accept(db, new_job(user=2), now=1000)
    newer = accept(db, new_job(user=3), now=1001)
    owned_by(db, oldest, "process-a")
    owned_by(db, newer, "process-b")

    assert claim(db, mine={newer.id}, owner="process-b", cap=1) == []
    assert claim(other, mine={oldest.id}, owner="process-a", cap=1) == [oldest.id]
    assert claim(db, mine={newer.id}, owner="process-b", cap=1) == []  # the cap is full
    assert busy(db) == [oldest.id]


def test_a_dead_process_waiting_job_is_adopted_at_once_and_keeps_its_place(
    db: Database,
) -> None:
    # Process A died while its job waited; its short waiting lease lapsed a moment ago.
    oldest = accept(db, new_job(user=2), now=1000)
    newer = accept(db, new_job(user=3), now=1001)
    owned_by(db, oldest, "process-a", lease_until=NOW - 1)
    owned_by(db, newer, "process-b")

    first = slot_pass(db, mine={newer.id}, owner="process-b", cap=2)
    assert first.adopted == [oldest.id]
    assert first.claimed == []  # the older job keeps its place at the head of the line
    assert lease_of(db, oldest) == ("process-b", NOW + 60)

    # Its new driver waits for a slot: it gets the first one, the newer job the next.
    second = slot_pass(db, mine={oldest.id, newer.id}, owner="process-b", cap=2)
    assert [job.id for job in second.claimed] == [oldest.id, newer.id]
    assert lease_of(db, oldest) == ("process-b", NOW + 60)  # a full lease once claimed


def test_a_waiting_job_of_a_live_process_is_left_alone(db: Database) -> None:
    oldest = accept(db, new_job(user=2), now=1000)
    newer = accept(db, new_job(user=3), now=1001)
    owned_by(db, oldest, "process-a", lease_until=NOW + 5)
    owned_by(db, newer, "process-b")

    result = slot_pass(db, mine={newer.id}, owner="process-b", cap=2)
    assert result.adopted == [] and result.claimed == []
    assert lease_of(db, oldest) == ("process-a", NOW + 5)


def test_a_waiting_job_taken_over_by_another_process_is_reported_lost(db: Database) -> None:
    job = accept(db, new_job(user=2), now=1000)
    owned_by(db, job, "process-b")

    result = slot_pass(db, mine={job.id}, owner="process-a", cap=2)
    assert result.lost == [job.id] and result.claimed == []
    assert lease_of(db, job)[0] == "process-b"
