"""The job store against a real SQLite file: quota math, the state machine, leases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.core.db import Database, upgrade_schema
from bot.core.jobs import store
from bot.core.jobs.models import TRANSITIONS, Job, JobState, LedgerEntry, LedgerKind, predecessors
from bot.core.jobs.store import QuotaExceeded, QuotaPolicy, TooManyInFlight
from tests.testdb import database_url

POLICY = QuotaPolicy(limit=5, window_seconds=86_400, max_in_flight=3)
DAY = 86_400.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(database_url(tmp_path / "store.db"))
    yield database
    database.close()


def new_job(user: int = 1, duration: int = 5, guild: int = 10) -> Job:
    return Job(
        guild_id=guild,
        channel_id=20,
        user_id=user,
        mode="text",
        provider="runcomfy",
        prompt="p",
        duration=duration,
        resolution="1080P",
        seed=1,
        cost=POLICY.cost(duration),
        upload_limit=10,
    )


def accept(db: Database, job: Job, now: float, policy: QuotaPolicy = POLICY) -> Job:
    with db.session() as session:
        accepted = store.accept(
            session=session, job=job, policy=policy, now=now, owner="me", lease_seconds=60
        )
        session.commit()
        return accepted


def move(db: Database, job_id: str, to: JobState, now: float, **fields: Any) -> Job | None:
    with db.session() as session:
        moved = store.transition(session=session, job_id=job_id, to=to, now=now, **fields)
        session.commit()
        return moved


def ledger(db: Database) -> list[tuple[LedgerKind, int, float]]:
    with Session(db.engine) as session:
        rows = session.exec(select(LedgerEntry).order_by(LedgerEntry.id)).all()  # type: ignore[arg-type]
        return [(r.kind, r.amount, r.counted_at) for r in rows]


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


def test_failure_refunds_exactly_once_and_counts_at_the_reservation_time(db: Database) -> None:
    job = accept(db, new_job(duration=10), now=1000)
    assert move(db, job.id, JobState.FAILED, now=5000, error="x") is not None
    assert move(db, job.id, JobState.FAILED, now=5001, error="x") is None
    assert move(db, job.id, JobState.CANCELLED, now=5002) is None
    assert ledger(db) == [(LedgerKind.RESERVE, 2, 1000.0), (LedgerKind.REFUND, -2, 1000.0)]


def test_delivery_commits_and_keeps_the_charge(db: Database) -> None:
    job = accept(db, new_job(), now=1000)
    for state in (
        JobState.SUBMITTING,
        JobState.SUBMITTED,
        JobState.RUNNING,
        JobState.DOWNLOADING,
        JobState.DELIVERING,
        JobState.DELIVERED,
    ):
        assert move(db, job.id, state, now=1001) is not None
    assert [k for k, _, _ in ledger(db)] == [LedgerKind.RESERVE, LedgerKind.COMMIT]
    with db.session() as session:
        usage = store.usage(session=session, guild_id=10, user_id=1, policy=POLICY, now=1002)
    assert usage.used == 1 and usage.in_flight == 0


def test_quota_is_a_rolling_window_and_says_when_units_free_up(db: Database) -> None:
    policy = QuotaPolicy(limit=5, window_seconds=DAY, max_in_flight=10)
    for at in (1000.0, 2000.0, 3000.0):
        accept(db, new_job(), now=at, policy=policy)
    first = accept(db, new_job(duration=10), now=4000, policy=policy)  # 5 of 5 used
    move(db, first.id, JobState.CANCELLED, now=4100)  # 3 of 5 used
    accept(db, new_job(duration=10), now=4300, policy=policy)  # 5 of 5
    with pytest.raises(QuotaExceeded) as caught:
        accept(db, new_job(duration=10), now=4400, policy=policy)
    # Two units are needed: the jobs of t=1000 and t=2000 must leave the window.
    assert caught.value.available_at == 2000.0 + DAY
    assert caught.value.usage.frees_at == 1000.0 + DAY
    accept(db, new_job(duration=10), now=2000.0 + DAY + 1, policy=policy)


def test_units_free_up_when_the_oldest_charge_still_counted_leaves(db: Database) -> None:
    refunded = accept(db, new_job(duration=10), now=1000)
    move(db, refunded.id, JobState.CANCELLED, now=1500)  # refunded: counts nothing at t=1000
    accept(db, new_job(), now=2000)
    accept(db, new_job(), now=3000)
    with db.session() as session:
        usage = store.usage(session=session, guild_id=10, user_id=1, policy=POLICY, now=3500)
    assert (usage.used, usage.frees_at) == (2, 2000.0 + DAY)
    with db.session() as session:
        later = store.usage(session=session, guild_id=10, user_id=1, policy=POLICY, now=DAY + 2500)
    assert (later.used, later.frees_at) == (1, 3000.0 + DAY)


def test_a_member_may_have_only_so_many_jobs_unfinished(db: Database) -> None:
    for at in (1000.0, 1001.0, 1002.0):
        accept(db, new_job(), now=at)
    with pytest.raises(TooManyInFlight) as caught:
        accept(db, new_job(), now=1003)
    assert caught.value.usage.in_flight == 3


def test_another_server_has_its_own_quota(db: Database) -> None:
    policy = QuotaPolicy(limit=1, window_seconds=DAY, max_in_flight=10)
    accept(db, new_job(guild=10), now=1000, policy=policy)
    accept(db, new_job(guild=11), now=1000, policy=policy)
    with pytest.raises(QuotaExceeded):
        accept(db, new_job(guild=10), now=1001, policy=policy)


def test_concurrent_reservations_from_many_threads_never_exceed_the_limit(tmp_path: Path) -> None:
    url = database_url(tmp_path / "race.db")
    Database.connect(url).close()
    policy = QuotaPolicy(limit=7, window_seconds=DAY, max_in_flight=100)
    outcomes: list[str] = []

    def attempt() -> None:
        database = Database.connect(url)  # each thread its own engine and connections
        try:
            accept(database, new_job(), now=1000, policy=policy)
            outcomes.append("ok")
        except QuotaExceeded:
            outcomes.append("refused")
        finally:
            database.close()

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 7
    check = Database.connect(url)
    assert sum(amount for _, amount, _ in ledger(check)) == 7
    check.close()


def test_leases_expire_and_are_claimed_once(db: Database) -> None:
    job = accept(db, new_job(), now=1000)  # lease until 1060
    with db.session() as session:
        assert store.claim_orphans(session=session, owner="other", now=1030, until=1090) == []
        assert store.claim_orphans(session=session, owner="other", now=1061, until=1121) == [job.id]
        assert store.claim_orphans(session=session, owner="third", now=1062, until=1122) == []
        store.release_leases(session=session, owner="other")
        assert store.claim_orphans(session=session, owner="third", now=1063, until=1123) == [job.id]
        session.commit()


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
