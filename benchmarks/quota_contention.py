"""Database operations per second for quota reservations under contention.

Threads reserve quota through `bot.core.jobs.store.accept` (the same function the bot uses, one
transaction each) against one SQLite file in WAL mode. Two shapes: every thread charging the
same member (the worst case: one lock), and each thread its own member. Each thread has its own
engine and connections, like separate bot processes would.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path

from sqlmodel import select

from benchmarks._report import Section, percentile
from bot.core.db import Database
from bot.core.errors import QuotaExceeded, TooManyInFlight
from bot.core.jobs import store
from bot.core.jobs.models import Job, LedgerEntry
from bot.core.quotas import QuotaPolicy

NAME = "quota_contention"
TITLE = "Quota reservations under contention"


def _job(user: int) -> Job:
    return Job(
        guild_id=1,
        channel_id=2,
        user_id=user,
        mode="text",
        provider="runcomfy",
        prompt="p",
        duration=5,
        resolution="1080P",
        seed=1,
        cost=1,
        upload_limit=10,
    )


def _hammer(
    url: str, *, threads: int, per_thread: int, same_member: bool, limit: int
) -> tuple[float, int, int, list[float]]:
    policy = QuotaPolicy(limit=limit, window_seconds=86_400, max_in_flight=10**9)
    accepted = refused = 0
    latencies: list[float] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        nonlocal accepted, refused
        database = Database.connect(url)
        mine_ok = mine_no = 0
        mine_lat: list[float] = []
        try:
            for _ in range(per_thread):
                user = 1 if same_member else 1000 + index
                started = time.perf_counter()
                with database.session() as session:
                    try:
                        store.accept(
                            session=session,
                            job=_job(user),
                            policy=policy,
                            now=time.time(),
                            owner="bench",
                            lease_seconds=60,
                        )
                        session.commit()
                        mine_ok += 1
                    except (QuotaExceeded, TooManyInFlight):
                        session.rollback()
                        mine_no += 1
                mine_lat.append(time.perf_counter() - started)
        finally:
            database.close()
        with lock:
            accepted += mine_ok
            refused += mine_no
            latencies.extend(mine_lat)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, accepted, refused, latencies


def _ledger_total(url: str) -> int:
    database = Database.connect(url)
    try:
        with database.session() as session:
            return sum(int(e.amount) for e in session.exec(select(LedgerEntry)).all())
    finally:
        database.close()


def _measure(quick: bool) -> Section:
    section = Section()
    threads = 8
    per_thread = 100 if quick else 500
    with tempfile.TemporaryDirectory() as folder:
        for same_member in (True, False):
            url = f"sqlite:///{Path(folder) / f'quota-{same_member}.db'}"
            Database.connect(url).close()
            limit = threads * per_thread // 2 if same_member else 10**9
            elapsed, ok, no, latencies = _hammer(
                url, threads=threads, per_thread=per_thread, same_member=same_member, limit=limit
            )
            total = ok + no
            shape = "one member, 8 threads" if same_member else "8 members, 8 threads"

            section.add(f"{shape}: reservations per second", f"{total / elapsed:,.0f}/s")
            section.add(
                f"{shape}: latency p50 / p99",
                f"{percentile(latencies, 50) * 1000:.1f} ms / "
                f"{percentile(latencies, 99) * 1000:.1f} ms",
            )
            if same_member:
                charged = _ledger_total(url)
                section.add(
                    "one member: units charged vs limit",
                    f"{charged} of {limit} ({ok} accepted, {no} refused)",
                    "never above the limit",
                    charged <= limit and ok == limit,
                )
    section.note(
        f"{threads} threads × {per_thread} reservations each, each a full `store.accept` "
        "transaction (member lock, usage query, job row, ledger row, audit row) on one SQLite "
        "file in WAL mode; each thread has its own engine, as separate processes would."
    )
    return section


async def run(quick: bool) -> Section:
    return await asyncio.to_thread(_measure, quick)
