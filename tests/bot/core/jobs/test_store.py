"""The job store against a real SQLite file: the state machine, leases, submit attempts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.db import Database, upgrade_schema
from bot.core.jobs import store
from bot.core.jobs.models import TRANSITIONS, JobState, predecessors
from bot.core.jobs.runner import recovery_pause
from tests.bot.core.jobdata import accept, move, new_job


def test_the_transition_table_is_closed_and_final_states_are_terminal() -> None:
    for state in JobState:
        assert state in TRANSITIONS
    for state in (JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED, JobState.UNKNOWN):
        assert TRANSITIONS[state] == frozenset()
    assert predecessors(JobState.SUBMITTING) == {JobState.ACCEPTED}
    assert JobState.SUBMITTING not in TRANSITIONS[JobState.SUBMITTING]


def test_a_move_not_in_the_table_is_refused(db: Database) -> None:
    job = accept(db, new_job(), now=1000)
    assert move(db, job.id, JobState.DELIVERED, now=1001) is None
    assert move(db, job.id, JobState.SUBMITTING, now=1001) is not None
    assert move(db, job.id, JobState.SUBMITTING, now=1002) is None  # only once


def test_leases_expire_and_are_claimed_once(db: Database) -> None:
    job = accept(db, new_job(), now=1000)  # lease until 1060
    with db.session() as session:
        assert store.claim_orphans(session=session, owner="other", now=1030, until=1090) == []
        assert store.claim_orphans(session=session, owner="other", now=1061, until=1121) == [job.id]
        assert store.claim_orphans(session=session, owner="third", now=1062, until=1122) == []
        store.release_leases(session=session, owner="other")
        assert store.claim_orphans(session=session, owner="third", now=1063, until=1123) == [job.id]
        session.commit()


def test_the_next_lease_to_run_out_is_another_process_s_still_running_one(db: Database) -> None:
    first = accept(db, new_job(user=1), now=1000)  # "me" holds it until 1060
    accept(db, new_job(user=2), now=1010)  # until 1070
    with db.session() as session:
        assert store.next_lease_expiry(session=session, owner="other", now=1020) == 1060
        assert store.next_lease_expiry(session=session, owner="me", now=1020) is None  # its own
        # A lease already out is an orphan for this pass, not the next one to run out.
        assert store.next_lease_expiry(session=session, owner="other", now=1065) == 1070
    move(db, first.id, JobState.FAILED, now=1030)
    with db.session() as session:
        assert store.next_lease_expiry(session=session, owner="other", now=1031) == 1070
        assert store.next_lease_expiry(session=session, owner="other", now=1071) is None


def test_the_recovery_pass_follows_the_next_lease_end_within_its_interval() -> None:
    assert recovery_pause(5.0, next_expiry=None, now=1000) == 5.0
    assert recovery_pause(5.0, next_expiry=1020, now=1000) == 5.0  # a live process renews
    assert recovery_pause(5.0, next_expiry=1002, now=1000) == pytest.approx(2.1)
    assert recovery_pause(5.0, next_expiry=1000, now=1000) == pytest.approx(0.2)  # the floor


@pytest.mark.sqlite_only("builds an old schema in a SQLite file (tests/bot/test_db.py covers both)")
def test_schema_upgrade_adds_missing_columns_and_is_idempotent(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE job (id VARCHAR(32) PRIMARY KEY, channel_id BIGINT NOT NULL)")
        old.execute("INSERT INTO job (id, channel_id) VALUES ('abc', 1)")
    database = Database.connect(f"sqlite:///{path}")
    upgrade_schema(database.engine)
    with sqlite3.connect(path) as check:
        columns = {row[1] for row in check.execute("PRAGMA table_info(job)")}
        assert {"state", "lease_owner", "nsfw", "prompt"} <= columns
        assert check.execute("SELECT id, nsfw, refunded FROM job").fetchall() == [("abc", 0, 0)]
    database.close()


def test_upgrade_keeps_an_old_submitting_job_unknown_and_old_finals_unedited(
    tmp_path: Path,
) -> None:
    """Rows of a version without the new columns: a job caught in SUBMITTING may have sent
    its POST (so it must not be sent again), and finished jobs need no catch-up edit."""
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE job (id VARCHAR(32) PRIMARY KEY, state VARCHAR(16) NOT NULL, "
            "updated_at FLOAT NOT NULL)"
        )
        old.executemany(
            "INSERT INTO job (id, state, updated_at) VALUES (?, ?, ?)",
            [("sending", "submitting", 100.0), ("done", "delivered", 90.0)],
        )
    Database.connect(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as check:
        rows = check.execute("SELECT id, submit_attempted_at, final_shown FROM job ORDER BY id")
        assert rows.fetchall() == [("done", None, 1), ("sending", 100.0, 0)]


def test_a_submit_on_the_wire_cannot_be_cancelled_but_one_waiting_can(db: Database) -> None:
    job = accept(db, new_job(), now=1000)
    with db.session() as session:
        store.transition(session=session, job_id=job.id, to=JobState.SUBMITTING, now=1001)
        assert store.mark_submit_attempt(session=session, job_id=job.id, owner="me", now=1002)
        assert (
            store.transition(session=session, job_id=job.id, to=JobState.CANCELLED, now=1003)
            is None
        )
        assert store.clear_submit_attempt(
            session=session, job_id=job.id, owner="me", now=1004, retry_at=1034
        )
        cancelled = store.transition(
            session=session, job_id=job.id, to=JobState.CANCELLED, now=1005
        )
        assert cancelled is not None and cancelled.refunded
        assert not store.mark_submit_attempt(session=session, job_id=job.id, owner="me", now=1006)
        session.commit()
