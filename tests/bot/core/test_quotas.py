"""Quotas against a real database: reserve, commit, refund, the window, the in-flight cap,
and concurrent reservations."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.core import quotas
from bot.core.db import Database
from bot.core.errors import QuotaExceeded, TooManyInFlight
from bot.core.jobs.models import JobState, LedgerKind
from bot.core.quotas import QuotaPolicy
from tests.bot.core.jobdata import DAY, POLICY, accept, ledger, move, new_job
from tests.testdb import database_url


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
        usage = quotas.usage(session=session, guild_id=10, user_id=1, policy=POLICY, now=1002)
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
        usage = quotas.usage(session=session, guild_id=10, user_id=1, policy=POLICY, now=3500)
    assert (usage.used, usage.frees_at) == (2, 2000.0 + DAY)
    with db.session() as session:
        later = quotas.usage(session=session, guild_id=10, user_id=1, policy=POLICY, now=DAY + 2500)
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
