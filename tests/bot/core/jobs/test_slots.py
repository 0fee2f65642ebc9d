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
from bot.core.jobs.slots import BUSY_STATES, claim_slots
from tests.bot.core.jobdata import accept, move, new_job


@pytest.fixture
def other(db: Database) -> Iterator[Database]:
    """A second process's connection to the same database."""
    database = Database.connect(db.engine.url.render_as_string(hide_password=False))
    yield database
    database.close()


def owned_by(db: Database, job: Job, owner: str) -> None:
    with db.session() as session:
        row = session.get(Job, job.id)
        assert row is not None
        row.lease_owner = owner
        session.add(row)
        session.commit()


def claim(db: Database, *, mine: set[str], owner: str, cap: int) -> list[str]:
    with db.session() as session:
        claimed, _ = claim_slots(session, mine=mine, cap=cap, owner=owner, now=2000)
        session.commit()
        return [job.id for job in claimed]


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
