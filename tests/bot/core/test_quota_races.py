"""Reservations racing each other on a real database (SQLite, or PostgreSQL under
REELBOT_TEST_DB): each thread has its own engine and connection, as separate bot processes
would, and all start together. Whatever the interleaving, the ledger and the job rows never
show a member over their quota or their in-flight cap, nor a server over its daily budget."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from bot.core import quotas
from bot.core.db import Database
from bot.core.errors import BudgetExhausted, QuotaExceeded, TooManyInFlight
from bot.core.jobs import store
from bot.core.jobs.models import ACTIVE_STATES, Job, LedgerEntry
from bot.core.quotas import QuotaPolicy
from tests.bot.core.jobdata import DAY, accept, new_job
from tests.testdb import database_url

THREADS = 12
ROUNDS = 4  # reservations per thread
NOW = 10 * DAY + 1000


def _race(url: str, attempt: Callable[[Database, int], None]) -> Counter[str]:
    """Run `attempt(database, thread)` ROUNDS times in each of THREADS threads started
    together; count what each attempt ended with."""
    Database.connect(url).close()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def run(index: int) -> None:
        database = Database.connect(url)
        try:
            barrier.wait(timeout=60)
            for _ in range(ROUNDS):
                try:
                    attempt(database, index)
                    outcome = "ok"
                except (QuotaExceeded, TooManyInFlight, BudgetExhausted) as refused:
                    outcome = type(refused).__name__
                with lock:
                    outcomes[outcome] += 1
        finally:
            database.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sum(outcomes.values()) == THREADS * ROUNDS, "a thread died: see its traceback"
    return outcomes


def _units(url: str) -> dict[tuple[int | None, int], int]:
    database = Database.connect(url)
    try:
        with database.session() as session:
            rows = session.exec(
                select(
                    LedgerEntry.guild_id, LedgerEntry.user_id, func.sum(LedgerEntry.amount)
                ).group_by(col(LedgerEntry.guild_id), col(LedgerEntry.user_id))
            ).all()
        return {(guild, user): int(total) for guild, user, total in rows}
    finally:
        database.close()


def _unfinished(url: str) -> int:
    database = Database.connect(url)
    try:
        with database.session() as session:
            return session.exec(
                select(func.count()).select_from(Job).where(col(Job.state).in_(ACTIVE_STATES))
            ).one()
    finally:
        database.close()


def _accepting(policy: QuotaPolicy) -> Callable[[Database, int], None]:
    def attempt(database: Database, _thread: int) -> None:
        accept(database, new_job(), now=NOW, policy=policy)

    return attempt


def test_one_member_racing_from_many_connections_gets_exactly_the_quota(tmp_path: Path) -> None:
    url = database_url(tmp_path / "race.db")
    policy = QuotaPolicy(limit=17, window_seconds=DAY, max_in_flight=1000)
    outcomes = _race(url, _accepting(policy))
    assert outcomes == Counter(ok=17, QuotaExceeded=THREADS * ROUNDS - 17)
    assert _units(url) == {(10, 1): 17}


def test_one_member_racing_from_many_connections_gets_exactly_the_in_flight_cap(
    tmp_path: Path,
) -> None:
    url = database_url(tmp_path / "race.db")
    policy = QuotaPolicy(limit=1000, window_seconds=DAY, max_in_flight=9)
    outcomes = _race(url, _accepting(policy))
    assert outcomes == Counter(ok=9, TooManyInFlight=THREADS * ROUNDS - 9)
    assert _unfinished(url) == 9


def test_members_of_one_server_racing_never_pass_its_daily_budget(tmp_path: Path) -> None:
    url = database_url(tmp_path / "race.db")
    policy = QuotaPolicy(limit=1000, window_seconds=DAY, max_in_flight=1000)

    def attempt(database: Database, thread: int) -> None:
        with database.session() as session:
            store.accept(
                session=session,
                job=new_job(user=100 + thread),  # a member per thread, all in server 10
                policy=policy,
                now=NOW,
                owner="me",
                lease_seconds=60,
                budget=13,
            )
            session.commit()

    outcomes = _race(url, attempt)
    assert outcomes == Counter(ok=13, BudgetExhausted=THREADS * ROUNDS - 13)
    assert sum(_units(url).values()) == 13


@pytest.mark.parametrize("guild", [None, 10])
def test_a_refused_member_is_shown_the_same_figures_with_or_without_a_server(
    tmp_path: Path, guild: int | None
) -> None:
    database = Database.connect(database_url(tmp_path / "figures.db"))
    policy = QuotaPolicy(limit=3, window_seconds=DAY, max_in_flight=10)
    try:
        for at in (1000.0, 2000.0, 3000.0):
            job = new_job()
            job.guild_id = guild
            accept(database, job, now=at, policy=policy)
        other = new_job()  # another server's (or the DMs') units are not this one's
        other.guild_id = 11 if guild is None else None
        accept(database, other, now=3000, policy=policy)
        refused = new_job()
        refused.guild_id = guild
        with pytest.raises(QuotaExceeded) as caught:
            accept(database, refused, now=3500, policy=policy)
        assert (caught.value.usage.used, caught.value.usage.in_flight) == (3, 3)
        assert caught.value.available_at == 1000.0 + DAY
        with database.session() as session:
            usage = quotas.usage(
                session=session, guild_id=guild, user_id=1, policy=policy, now=3500
            )
        assert usage == caught.value.usage
    finally:
        database.close()
