"""The quota figures a member is shown, computed by the database (`bot.core.quota_figures`),
against the Python they replace (kept below as the reference: the per-time sums brought into
Python and walked in time order), on the same ledger rows, on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from sqlalchemy import text

from bot.core import quota_figures
from bot.core.db import Database
from bot.core.errors import BudgetExhausted, QuotaExceeded, TooManyInFlight
from bot.core.jobs import store
from bot.core.jobs.models import JobState, LedgerEntry, LedgerKind
from bot.core.quota_policy import DAY, QuotaPolicy, Usage, utc_midnight
from tests.bot.core.jobdata import accept, move, new_job
from tests.testdb import on_postgresql

GUILD, USER = 10, 1
ROLLING = QuotaPolicy(limit=5, window_seconds=DAY, max_in_flight=10)
DAILY = QuotaPolicy(limit=5, window_seconds=DAY, max_in_flight=10, daily=True)
NOW = 20 * DAY + 50_000.0


def _reference(
    rows: list[tuple[float, int]], *, policy: QuotaPolicy, now: float, need: int
) -> tuple[Usage, float | None]:
    """The usage and "when do `need` units fit" as `quotas.usage` and `quotas._available_at`
    computed them before the database did: the rows in the window summed per time, in Python."""
    since = policy.window_start(now)
    per_time: dict[float, int] = defaultdict(int)
    for at, amount in rows:
        if at > since:
            per_time[at] += amount
    ordered = sorted(per_time.items())
    total = sum(amount for _, amount in ordered)
    used = max(0, total)
    first = min((at for at, amount in ordered if amount > 0), default=None)
    frees_at = None if first is None else policy.counted_until(first)
    usage = Usage(
        used=used,
        limit=policy.limit,
        in_flight=0,
        max_in_flight=policy.max_in_flight,
        frees_at=frees_at if used > 0 else None,
    )
    available = None
    if need <= policy.limit:
        left = used
        for at, amount in ordered:
            if left + need <= policy.limit:
                break
            left -= amount
            if left + need <= policy.limit:
                available = policy.counted_until(at)
                break
    return usage, available


def _store(db: Database, rows: list[tuple[float, int]], *, user: int = USER) -> None:
    with db.session() as session:
        for at, amount in rows:
            kind = LedgerKind.RESERVE if amount > 0 else LedgerKind.GRANT
            if amount == 0:
                kind = LedgerKind.COMMIT
            session.add(
                LedgerEntry(
                    guild_id=GUILD,
                    user_id=user,
                    kind=kind,
                    amount=amount,
                    counted_at=at,
                    created_at=at,
                )
            )
        session.commit()


def _figures(
    db: Database, *, policy: QuotaPolicy, now: float, need: int, user: int = USER
) -> tuple[Usage, float | None]:
    with db.session() as session:
        figures = quota_figures.read(
            session=session, guild_id=GUILD, user_id=user, policy=policy, now=now, need=need
        )
    return figures.usage(policy), figures.available_at(need=need, policy=policy)


def _same(
    db: Database, rows: list[tuple[float, int]], *, policy: QuotaPolicy, now: float, need: int
) -> tuple[Usage, float | None]:
    _store(db, rows)
    got = _figures(db, policy=policy, now=now, need=need)
    assert got == _reference(rows, policy=policy, now=now, need=need)
    return got


def test_enough_units_free_up_when_the_oldest_ones_needed_leave(db: Database) -> None:
    rows = [(NOW - 3000, 1), (NOW - 2000, 2), (NOW - 1000, 2)]
    usage, available = _same(db, rows, policy=ROLLING, now=NOW, need=2)
    assert usage.used == 5 and usage.frees_at == NOW - 3000 + DAY
    assert available == NOW - 2000 + DAY  # one unit is not enough: the next two must go too


def test_units_counted_at_the_same_instant_leave_together(db: Database) -> None:
    rows = [(NOW - 3000, 1), (NOW - 3000, 1), (NOW - 3000, 0), (NOW - 1000, 3)]
    _, available = _same(db, rows, policy=ROLLING, now=NOW, need=2)
    assert available == NOW - 3000 + DAY


def test_a_request_that_fits_now_or_never_has_no_time(db: Database) -> None:
    rows = [(NOW - 3000, 2), (NOW - 1000, 1)]
    assert _same(db, rows, policy=ROLLING, now=NOW, need=2)[1] is None  # 3 + 2 fit in 5
    assert _figures(db, policy=ROLLING, now=NOW, need=6)[1] is None  # more than the quota
    assert _reference(rows, policy=ROLLING, now=NOW, need=6)[1] is None


def test_refunds_and_zero_commits_count_nothing_at_their_time(db: Database) -> None:
    rows = [
        (NOW - 4000, 2),
        (NOW - 4000, -2),  # refunded: its time counts nothing
        (NOW - 3000, 1),
        (NOW - 3000, 0),  # delivered: the commit keeps the charge
        (NOW - 2000, 0),  # a commit alone at its time
        (NOW - 1000, 4),
    ]
    usage, available = _same(db, rows, policy=ROLLING, now=NOW, need=1)
    assert usage.used == 5 and usage.frees_at == NOW - 3000 + DAY
    assert available == NOW - 3000 + DAY


def test_a_grant_in_the_window_is_walked_past_in_time_order(db: Database) -> None:
    rows = [(NOW - 5000, 2), (NOW - 4000, -2), (NOW - 3000, 4), (NOW - 1000, 1)]
    # 5 used: the grant leaving the window takes back the 2 units the oldest charge's leaving
    # gave, so 3 units fit only once the charge after it leaves too.
    _, available = _same(db, rows, policy=ROLLING, now=NOW, need=3)
    assert available == NOW - 3000 + DAY


def test_a_grant_larger_than_the_usage_leaves_nothing_used(db: Database) -> None:
    usage, available = _same(
        db, [(NOW - 2000, 2), (NOW - 1000, -4)], policy=ROLLING, now=NOW, need=5
    )
    assert usage.used == 0 and usage.frees_at is None and available is None


def test_the_rolling_window_leaves_out_what_was_counted_at_its_start(db: Database) -> None:
    start = ROLLING.window_start(NOW)
    rows = [(start, 5), (start + 0.5, 3), (NOW - 10, 2)]
    usage, available = _same(db, rows, policy=ROLLING, now=NOW, need=1)
    assert usage.used == 5 and usage.frees_at == start + 0.5 + DAY
    assert available == start + 0.5 + DAY


def test_a_daily_quota_frees_everything_at_the_next_midnight(db: Database) -> None:
    midnight = utc_midnight(NOW)
    rows = [(midnight - 1, 5), (midnight, 4), (midnight + 1, 2), (NOW - 5, 3)]
    usage, available = _same(db, rows, policy=DAILY, now=NOW, need=1)
    assert usage.used == 5  # yesterday's, and midnight's own instant, are not today's
    assert usage.frees_at == available == midnight + DAY


def test_random_ledgers_give_the_reference_figures(db: Database) -> None:
    chance = random.Random(10)
    users = range(2, 22)
    cases: list[tuple[int, list[tuple[float, int]]]] = []
    for user in users:
        times = [NOW - chance.choice(range(0, 2 * int(DAY), 3600)) for _ in range(12)]
        rows = [(at, chance.choice((-2, -1, 0, 1, 1, 2, 2, 3))) for at in times]
        rows += [(rows[0][0], 1), (rows[1][0], 0)]  # some instants counted twice
        _store(db, rows, user=user)
        cases.append((user, rows))
    for user, rows in cases:
        for policy in (ROLLING, DAILY, QuotaPolicy(limit=9, window_seconds=DAY, max_in_flight=1)):
            for need in (1, 2, 3, 5, 9, 10):
                got = _figures(db, policy=policy, now=NOW, need=need, user=user)
                assert got == _reference(rows, policy=policy, now=NOW, need=need), (user, need)


def test_a_refused_member_is_told_the_reference_figures(db: Database) -> None:
    policy = QuotaPolicy(limit=5, window_seconds=DAY, max_in_flight=10)
    first = accept(db, new_job(), now=NOW - 4000, policy=policy)
    accept(db, new_job(duration=10), now=NOW - 3000, policy=policy)
    move(db, first.id, JobState.CANCELLED, now=NOW - 2500)
    accept(db, new_job(duration=10), now=NOW - 2000, policy=policy)
    accept(db, new_job(), now=NOW - 1000, policy=policy)  # 5 of 5
    with pytest.raises(QuotaExceeded) as caught:
        accept(db, new_job(duration=10), now=NOW, policy=policy)
    with db.session() as session:
        rows = [
            (float(at), int(amount))
            for at, amount in session.execute(text("SELECT counted_at, amount FROM quota_ledger"))
        ]
    usage, available = _reference(rows, policy=policy, now=NOW, need=2)
    assert caught.value.usage == Usage(5, 5, 3, 10, usage.frees_at)
    assert caught.value.usage.frees_at == NOW - 3000 + DAY
    assert caught.value.available_at == available == NOW - 3000 + DAY


def test_refused_requests_are_told_the_reference_figures_on_random_ledgers(db: Database) -> None:
    """The figures a refusal carries come from the store's own check (on PostgreSQL, worked
    out inside `reelbot_store_job`; on SQLite, read under the write lock): the same as the
    reference on ledgers with refunds, grants and instants counted twice."""
    chance = random.Random(11)
    policy = QuotaPolicy(limit=5, window_seconds=DAY, max_in_flight=10)
    refused = 0
    for user in range(30, 60):
        times = [NOW - chance.choice(range(0, 2 * int(DAY), 3600)) for _ in range(10)]
        rows = [(at, chance.choice((-2, -1, 0, 1, 2, 2, 3))) for at in times]
        rows += [(rows[0][0], 1)]
        _store(db, rows, user=user)
        for need in (1, 2, 3, 6):
            usage, available = _reference(rows, policy=policy, now=NOW, need=need)
            if usage.used + need <= policy.limit:
                continue  # it would be stored: not a refusal
            job = new_job(user=user)
            job.cost = need
            with pytest.raises(QuotaExceeded) as caught:
                accept(db, job, now=NOW, policy=policy)
            assert caught.value.usage == usage, (user, need)
            assert caught.value.available_at == available, (user, need)
            refused += 1
    assert refused > 40  # the ledgers do refuse: the comparison ran


def test_a_refused_member_is_told_their_unfinished_jobs_and_the_servers_spend(
    db: Database,
) -> None:
    capped = QuotaPolicy(limit=10, window_seconds=DAY, max_in_flight=2)
    for offset in (30, 20):
        accept(db, new_job(), now=NOW - offset, policy=capped)
    with pytest.raises(TooManyInFlight) as too_many:
        accept(db, new_job(), now=NOW, policy=capped)
    assert too_many.value.usage == Usage(2, 10, 2, 2, NOW - 30 + DAY)
    with db.session() as session, pytest.raises(BudgetExhausted) as exhausted:
        store.accept(
            session=session,
            job=new_job(user=USER + 1),
            policy=ROLLING,
            now=NOW,
            owner="me",
            lease_seconds=60,
            budget=2,
        )
    assert (exhausted.value.used, exhausted.value.budget) == (2, 2)
    assert exhausted.value.resets_at == utc_midnight(NOW) + DAY


@pytest.mark.skipif(not on_postgresql(), reason="SQLite's write lock is the whole database's")
def test_a_refusal_in_autocommit_holds_no_lock_once_it_is_told(db: Database) -> None:
    """The bot's path on PostgreSQL (`Database.run(autocommit=True)`): the refusal and its
    figures come from one call, the call is its own transaction, and no lock outlives it."""
    policy = QuotaPolicy(limit=1, window_seconds=DAY, max_in_flight=10)
    accept(db, new_job(), now=NOW - 10, policy=policy)

    with db.session(autocommit=True) as refused:
        with pytest.raises(QuotaExceeded) as caught:
            store.accept(
                session=refused,
                job=new_job(),
                policy=policy,
                now=NOW,
                owner="me",
                lease_seconds=60,
            )
        assert caught.value.available_at == NOW - 10 + DAY
        # The refused request's session is still open, as its caller's would be while the
        # refusal travels up: another member's check can take the lock now.
        with db.engine.connect() as other:
            locked = other.execute(
                text(
                    "SELECT user_id FROM member WHERE guild_id = :g AND user_id = :u "
                    "FOR UPDATE NOWAIT"
                ),
                {"g": GUILD, "u": USER},
            ).all()
            assert locked == [(USER,)]
