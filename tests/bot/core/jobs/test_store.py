"""The job store against a real database (SQLite, or PostgreSQL under REELBOT_TEST_DB): the
state machine, leases, submit attempts, the rows a new job is stored with."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import select

from bot.core.audit import AuditAction, AuditEntry
from bot.core.db import Database, upgrade_schema
from bot.core.jobs import store
from bot.core.jobs.models import TRANSITIONS, Job, JobState, LedgerEntry, LedgerKind, predecessors
from bot.core.jobs.runner import recovery_pause
from tests.bot.core.jobdata import POLICY, accept, move, new_job


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


@pytest.mark.parametrize(
    ("guild", "hold", "budget"),
    [(10, False, None), (None, False, None), (10, True, None), (10, False, 50)],
    ids=["in-a-server", "outside-any-server", "held-for-review", "with-a-daily-budget"],
)
def test_a_new_job_is_stored_whole_with_its_ledger_and_audit_rows(
    db: Database, guild: int | None, hold: bool, budget: int | None
) -> None:
    """Every column of the three rows, read back: on PostgreSQL they are written by the
    `reelbot_store_job` function (migration 0010), on SQLite by three inserts."""
    job = new_job(user=7, duration=10)
    job.guild_id = guild
    job.interaction_id = 555
    job.prompt = 'a "quoted" prompt, ünïcode and a\nnew line'
    with db.session() as session:
        store.accept(
            session=session,
            job=job,
            policy=POLICY,
            now=1000.5,
            owner="proc-a",
            lease_seconds=60,
            budget=budget,
            hold=hold,
        )
        session.commit()
    columns = [column.name for column in Job.__table__.columns]  # type: ignore[attr-defined]
    with db.session() as session:
        row = session.get(Job, job.id)
        assert row is not None
        assert {c: getattr(row, c) for c in columns} == {c: getattr(job, c) for c in columns}
        assert row.state is (JobState.PENDING_REVIEW if hold else JobState.ACCEPTED)
        assert (row.lease_owner, row.lease_expires_at) == ("proc-a", 1060.5)
        entries = session.exec(select(LedgerEntry)).all()
        audits = session.exec(select(AuditEntry)).all()
    expected_ledger = [] if hold else [(guild, 7, job.id, LedgerKind.RESERVE, 2, 1000.5, 1000.5)]
    assert [
        (e.guild_id, e.user_id, e.job_id, e.kind, e.amount, e.counted_at, e.created_at)
        for e in entries
    ] == expected_ledger
    expected_audit = {
        "guild_id": guild,
        "at": 1000.5,
        "action": AuditAction.HELD if hold else AuditAction.ACCEPTED,
        "user_id": 7,
        "moderator_id": None,
        "job_id": job.id,
        "prompt": job.prompt,
        "options": "text · 10 s · 1080P · from image · seed 1",
        "provider": "runcomfy",
        "cost": 2,
        "reason": None,
        "forwarded": False,
    }
    # A column added to the audit log must be written here too (and by the function).
    audited = {c.name for c in AuditEntry.__table__.columns} - {"id"}  # type: ignore[attr-defined]
    assert set(expected_audit) == audited
    assert len(audits) == 1
    assert {name: getattr(audits[0], name) for name in expected_audit} == expected_audit


def test_a_newer_read_is_absorbed_as_loaded_values(db: Database) -> None:
    job = accept(db, new_job(), now=1000)
    with db.session() as session:
        older = store.get(session=session, job_id=job.id)
    assert older is not None
    assert [older.state] == [JobState.ACCEPTED]
    newer = move(db, job.id, JobState.SUBMITTING, now=1001)
    assert newer is not None
    store.absorb(older, newer)
    assert older.state is JobState.SUBMITTING
    assert older.updated_at == newer.updated_at
    assert inspect(older).modified is False  # loaded, not changes waiting to be written
    with db.session() as session:
        assert session.get(Job, job.id).state is JobState.SUBMITTING  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="cannot take the values"):
        store.absorb(older, accept(db, new_job(user=2), now=1002))
