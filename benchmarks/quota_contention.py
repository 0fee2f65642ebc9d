"""Quota reservations per second under contention, SQLite and PostgreSQL side by side.

Eight competing processes (multiprocessing spawn, each its own engine, as separate bot processes
would be) reserve quota through `store.accept` (the function the bot uses: one transaction with
the member lock, the usage and in-flight queries, the job, ledger and audit rows). Two shapes:
every process charging the same member (the worst case: one lock), and each process its own
member (all in one server). Each shape runs on a fresh SQLite file in WAL mode and on a fresh
database of a throwaway PostgreSQL 15 started here (`tests.pg`). The processes start together
behind a barrier, after their connections are open; throughput is all reservations over the
span from the first start to the last finish.

After each run the ledger and job rows are read back: no member may have more units counted
than its limit, nor more unfinished jobs than its in-flight cap. Each shape's limits are set so
that one of the two is reached (and the other one unit above it), so a check-and-spend that
lets two processes through at once shows up as a member over a limit.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import psycopg
from sqlalchemy import func
from sqlmodel import col, select

from benchmarks._report import Section, percentile
from bot.core.db import Database
from bot.core.errors import QuotaExceeded, TooManyInFlight
from bot.core.jobs import reserving, store
from bot.core.jobs.models import ACTIVE_STATES, Job, LedgerEntry
from bot.core.jobs.runner import store_new_job
from bot.core.quotas import QuotaPolicy
from tests.pg import PostgresServer, PostgresUnavailable, dsn

NAME = "quota_contention"
TITLE = "Quota reservations under contention: SQLite and PostgreSQL"

PROCESSES = 8
GUILD = 1
TARGET_RATE = 1_000.0  # reservations/s on PostgreSQL (issue 10)
TARGET_P99 = 0.050  # seconds, on PostgreSQL
START_TIMEOUT = 300.0  # spawning 8 interpreters on a busy 2-core machine takes a while


@dataclass(frozen=True, slots=True)
class Shape:
    label: str
    same_member: bool

    def member(self, index: int) -> int:
        return 1 if self.same_member else 1000 + index

    def policy(self, rounds: int) -> QuotaPolicy:
        if self.same_member:
            # The shared member's quota is reached halfway; its in-flight cap is one above.
            limit = PROCESSES * rounds // 2
            return QuotaPolicy(limit=limit, window_seconds=86_400, max_in_flight=limit + 1)
        # Each member's in-flight cap is reached halfway; its quota is one above.
        cap = rounds // 2
        return QuotaPolicy(limit=cap + 1, window_seconds=86_400, max_in_flight=cap)


SHAPES = (
    Shape("one member, 8 processes", same_member=True),
    Shape("8 members, 8 processes", same_member=False),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    started: float  # time.monotonic(): CLOCK_MONOTONIC, one clock for every process on Linux
    finished: float
    accepted: int
    over_quota: int
    over_cap: int
    latencies: list[float]
    cpu: float  # this process's CPU seconds over its reservations


@dataclass(frozen=True, slots=True)
class Run:
    rate: float
    p50: float
    p99: float
    accepted: int
    over_quota: int
    over_cap: int
    most_units: int  # the highest any member has counted
    most_in_flight: int
    policy: QuotaPolicy
    client_cpu: float  # CPU seconds per reservation, in the competing processes
    server_cpu: float  # and in the PostgreSQL server (0 for SQLite, which runs in-process)
    elsewhere: float  # cores busy with other work on the machine during the run, on average

    @property
    def ceiling(self) -> float:
        """Reservations per second if every core of the machine did nothing else."""
        return (os.cpu_count() or 1) / (self.client_cpu + self.server_cpu)

    @property
    def within_limits(self) -> bool:
        return (
            self.most_units <= self.policy.limit
            and self.most_in_flight <= self.policy.max_in_flight
        )


def _job(user: int) -> Job:
    return Job(
        guild_id=GUILD,
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


async def _clocked(rounds: int, attempt: Callable[[], Awaitable[str]]) -> Outcome:
    """Run `attempt` `rounds` times on this process's event loop, timing each; it says what
    became of its reservation: "accepted", "over_quota" or "over_cap"."""
    ended: Counter[str] = Counter()
    latencies: list[float] = []
    started = time.monotonic()
    cpu = time.process_time()  # every thread of the process: the database worker's too
    for _ in range(rounds):
        begun = time.perf_counter()
        ended[await attempt()] += 1
        latencies.append(time.perf_counter() - begun)
    finished = time.monotonic()
    cpu = time.process_time() - cpu
    return Outcome(
        started,
        finished,
        ended["accepted"],
        ended["over_quota"],
        ended["over_cap"],
        latencies,
        cpu,
    )


def _worker(
    url: str,
    index: int,
    rounds: int,
    shape: Shape,
    barrier: Barrier,
    results: Queue[tuple[int, Outcome]],
) -> None:
    """One competing process: its own engine, `rounds` reservations, its figures sent back.
    Each reservation is the bot's own, `runner.store_new_job` (what `JobRunner.accept` calls),
    awaited on an event loop, its database work in `Database.run`'s worker thread. The job
    objects are made before the clock starts: the command makes them from the member's
    request before it asks for the reservation."""
    policy = shape.policy(rounds)
    database = Database.connect(url)
    jobs = iter([_job(shape.member(index)) for _ in range(rounds)])

    async def attempt() -> str:
        try:
            await store_new_job(
                database,
                job=next(jobs),
                policy=policy,
                now=time.time(),
                owner=f"bench-{index}",
                lease_seconds=60,
                budget=None,
                hold=False,
            )
        except QuotaExceeded:
            return "over_quota"
        except TooManyInFlight:
            return "over_cap"
        return "accepted"

    async def clocked() -> Outcome:
        # The connection and the worker thread, made before the clock starts.
        await database.run(lambda s: s.exec(select(func.count()).select_from(Job)).one())
        barrier.wait(timeout=START_TIMEOUT)
        return await _clocked(rounds, attempt)

    try:
        outcome = asyncio.run(clocked())
    finally:
        database.close()
    results.put((index, outcome))


def _raw_worker(
    url: str,
    index: int,
    rounds: int,
    shape: Shape,
    barrier: Barrier,
    results: Queue[tuple[int, Outcome]],
) -> None:
    """The floor under `_worker`: the same `reelbot_store_job` call with none of the bot around
    it. Raw psycopg in autocommit (no SQLAlchemy, no worker thread), every job's parameters
    built before the clock starts. The refusal's figures are left unread: a refusal is
    counted as the limit this shape reaches."""
    policy = shape.policy(rounds)
    user = shape.member(index)
    sql = reserving.STORE_JOB
    now = time.time()
    calls = []
    for _ in range(rounds):
        job = _job(user)
        store.ready(
            job, policy=policy, now=now, owner=f"bench-{index}", lease_seconds=60, hold=False
        )
        calls.append(
            reserving.function_values(job=job, policy=policy, now=now, budget=None, hold=False)
        )
    pending = iter(calls)
    refused = "over_quota" if shape.same_member else "over_cap"
    with psycopg.connect(dsn(url), autocommit=True) as connection:

        async def attempt() -> str:  # blocking: this process has nothing else to run
            row = connection.execute(sql, next(pending)).fetchone()
            return "accepted" if row is not None and row[-1] else refused

        connection.execute("SELECT 1")  # open before the clock starts
        barrier.wait(timeout=START_TIMEOUT)
        outcome = asyncio.run(_clocked(rounds, attempt))
    results.put((index, outcome))


def _most(url: str) -> tuple[int, int]:
    """The most units any member has counted, and the most unfinished jobs any member has."""
    database = Database.connect(url)
    try:
        with database.session() as session:
            units = session.exec(
                select(func.sum(LedgerEntry.amount)).group_by(
                    col(LedgerEntry.guild_id), col(LedgerEntry.user_id)
                )
            ).all()
            in_flight = session.exec(
                select(func.count())
                .select_from(Job)
                .where(col(Job.state).in_(ACTIVE_STATES))
                .group_by(col(Job.guild_id), col(Job.user_id))
            ).all()
            return max((int(u or 0) for u in units), default=0), max(in_flight, default=0)
    finally:
        database.close()


def _server_cpu(server: PostgresServer | None) -> float:
    """CPU seconds used so far by the PostgreSQL server's processes: the live ones, and the
    ended ones the postmaster has reaped (its cutime and cstime: proc(5), /proc/pid/stat)."""
    if server is None:
        return 0.0
    postmaster = (server.data_dir / "postmaster.pid").read_text().split()[0]
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended while we looked
        # After the name: state, ppid, ...; utime, stime, cutime, cstime are fields 14-17.
        if stat.parent.name == postmaster:
            ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        elif fields[1] == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (proc(5), /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _contend(
    url: str,
    *,
    shape: Shape,
    rounds: int,
    server: PostgresServer | None = None,
    work: Callable[..., None] = _worker,
) -> Run:
    Database.connect(url).close()  # the schema, before the processes race for it
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES + 1)  # and this process, to read the server's CPU
    results: Queue[tuple[int, Outcome]] = context.Queue()
    workers = [
        context.Process(
            target=work,
            args=(url, index, rounds, shape, barrier, results),
            name=f"quota-bench-{index}",
        )
        for index in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes: list[Outcome] = []
    try:
        barrier.wait(timeout=START_TIMEOUT)
        server_cpu = _server_cpu(server)
        busy = _machine_busy()
        while len(outcomes) < PROCESSES:
            try:
                outcomes.append(results.get(timeout=5)[1])
            except queue.Empty:
                dead = [w for w in workers if w.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(
                        f"{dead[0].name} exited with {dead[0].exitcode}: see its traceback above"
                    ) from None
        busy = _machine_busy() - busy  # before the processes' exits add theirs
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
                worker.join()
    time.sleep(0.5)  # the postmaster reaps the backends of the closed connections
    server_cpu = _server_cpu(server) - server_cpu
    span = max(o.finished for o in outcomes) - min(o.started for o in outcomes)
    latencies = [latency for o in outcomes for latency in o.latencies]
    ours = sum(o.cpu for o in outcomes) + server_cpu
    most_units, most_in_flight = _most(url)
    return Run(
        rate=len(latencies) / span,
        p50=percentile(latencies, 50),
        p99=percentile(latencies, 99),
        accepted=sum(o.accepted for o in outcomes),
        over_quota=sum(o.over_quota for o in outcomes),
        over_cap=sum(o.over_cap for o in outcomes),
        most_units=most_units,
        most_in_flight=most_in_flight,
        policy=shape.policy(rounds),
        client_cpu=sum(o.cpu for o in outcomes) / len(latencies),
        server_cpu=server_cpu / len(latencies),
        elsewhere=max(0.0, busy - ours) / span,
    )


@contextmanager
def _postgres(*, durable: bool = False) -> Iterator[PostgresServer | None]:
    """A throwaway PostgreSQL 15, or None (said on the console) where it cannot start."""
    server = PostgresServer(durable=durable)
    try:
        try:
            server.start()
        except PostgresUnavailable as error:
            print(f"PostgreSQL not measured: {error}", flush=True)
            yield None
        else:
            yield server
    finally:
        server.stop()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _limits(run: Run) -> str:
    return (
        f"{'yes' if run.within_limits else 'no'} ({run.most_units} of {run.policy.limit} "
        f"units, {run.most_in_flight} of {run.policy.max_in_flight} in flight; "
        f"{run.accepted} accepted, {run.over_quota} over quota, {run.over_cap} over the cap)"
    )


def _cpu(run: Run) -> str:
    if run.server_cpu == 0:
        return f"{_ms(run.client_cpu)} (ceiling {run.ceiling:,.0f}/s)"
    return f"{_ms(run.client_cpu)} + {_ms(run.server_cpu)} server (ceiling {run.ceiling:,.0f}/s)"


def _add_durable(section: Section, shape: Shape, pg: Run | None, durable: Run | None) -> None:
    if pg is None or durable is None:
        return
    section.add(
        f"{shape.label}: PostgreSQL durable (fsync, synchronous_commit on): rate, p50 / p99",
        f"{durable.rate:,.0f}/s ({durable.rate / pg.rate:.2f}× the test server's), "
        f"{_ms(durable.p50)} / {_ms(durable.p99)}",
    )
    section.add(
        f"{shape.label}: PostgreSQL durable: never over a limit",
        _limits(durable),
        "yes",
        durable.within_limits,
    )


def _add_raw(section: Section, shape: Shape, pg: Run | None, raw: Run | None) -> None:
    if pg is None or raw is None:
        return
    section.add(
        f"{shape.label}: PostgreSQL, the function alone (no bot code around the call): "
        "rate, p50 / p99, CPU per reservation",
        f"{raw.rate:,.0f}/s ({raw.rate / pg.rate:.2f}× the bot's), {_ms(raw.p50)} / "
        f"{_ms(raw.p99)}, {_cpu(raw)}",
    )
    section.add(
        f"{shape.label}: PostgreSQL, the function alone: never over a limit",
        _limits(raw),
        "yes",
        raw.within_limits,
    )


def _add_shape(section: Section, shape: Shape, lite: Run, pg: Run | None) -> None:
    name = shape.label
    if pg is None:
        section.add(f"{name}: reservations per second, SQLite", f"{lite.rate:,.0f}/s")
        section.add(f"{name}: latency p50 / p99, SQLite", f"{_ms(lite.p50)} / {_ms(lite.p99)}")
        section.add(f"{name}: CPU per reservation, SQLite", _cpu(lite))
        section.add(f"{name}: never over a limit, SQLite", _limits(lite), "yes", None)
        return
    section.add(
        f"{name}: reservations per second, SQLite · PostgreSQL",
        f"{lite.rate:,.0f}/s · {pg.rate:,.0f}/s (PostgreSQL {pg.rate / lite.rate:.2f}×)",
        f"PostgreSQL ≥ {TARGET_RATE:,.0f}/s",
        pg.rate >= TARGET_RATE,
    )
    section.add(
        f"{name}: latency p50, SQLite · PostgreSQL",
        f"{_ms(lite.p50)} · {_ms(pg.p50)} (PostgreSQL {pg.p50 / lite.p50:.2f}×)",
    )
    section.add(
        f"{name}: latency p99, SQLite · PostgreSQL",
        f"{_ms(lite.p99)} · {_ms(pg.p99)} (PostgreSQL {pg.p99 / lite.p99:.2f}×)",
        f"PostgreSQL < {_ms(TARGET_P99)}",
        pg.p99 < TARGET_P99,
    )
    section.add(
        f"{name}: CPU per reservation, SQLite · PostgreSQL",
        f"{_cpu(lite)} · {_cpu(pg)}",
    )
    section.add(
        f"{name}: never over a limit, SQLite · PostgreSQL",
        f"SQLite {_limits(lite)} · PostgreSQL {_limits(pg)}",
        "yes on both",
        lite.within_limits and pg.within_limits,
    )


def _print_run(database: str, shape: Shape, run: Run) -> None:
    print(
        f"{database:<10} {shape.label}: {run.rate:,.0f}/s, p50 {_ms(run.p50)}, "
        f"p99 {_ms(run.p99)}, CPU per reservation {_cpu(run)}; other work on the machine "
        f"{run.elsewhere:.1f} cores",
        flush=True,
    )
    print(f"{database:<10} {shape.label}: never over a limit: {_limits(run)}", flush=True)


_DATABASES = {
    "sqlite": "SQLite",
    "pg": "PostgreSQL",
    "pg raw": "PostgreSQL, the function alone",
    "pg durable": "PostgreSQL durable",
}


def _measure(quick: bool) -> Section:
    section = Section()
    rounds = 100 if quick else 500
    load_before = os.getloadavg()
    runs: dict[tuple[str, bool], Run] = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        _postgres() as server,
        _postgres(durable=True) as durable,
    ):
        for shape in SHAPES:
            url = f"sqlite:///{Path(folder) / f'quota-{shape.same_member}.db'}"
            runs["sqlite", shape.same_member] = run = _contend(url, shape=shape, rounds=rounds)
            _print_run("SQLite", shape, run)
            if server is not None:
                url = server.database()
                runs["pg", shape.same_member] = run = _contend(
                    url, shape=shape, rounds=rounds, server=server
                )
                _print_run("PostgreSQL", shape, run)
                url = server.database()
                runs["pg raw", shape.same_member] = run = _contend(
                    url, shape=shape, rounds=rounds, server=server, work=_raw_worker
                )
                _print_run("PG raw", shape, run)
            if durable is not None:
                url = durable.database()
                runs["pg durable", shape.same_member] = run = _contend(
                    url, shape=shape, rounds=rounds, server=durable
                )
                _print_run("PG durable", shape, run)
    load_after = os.getloadavg()
    for shape in SHAPES:
        pg = runs.get(("pg", shape.same_member))
        _add_shape(section, shape, runs["sqlite", shape.same_member], pg)
        _add_durable(section, shape, pg, runs.get(("pg durable", shape.same_member)))
        _add_raw(section, shape, pg, runs.get(("pg raw", shape.same_member)))
    section.note(
        f"{PROCESSES} processes (multiprocessing spawn, each its own engine) × {rounds} "
        "reservations each, started together behind a barrier with their connections open. "
        "Each reservation is the bot's own, `runner.store_new_job` (what `JobRunner.accept` "
        "calls), awaited on an event loop with its database work in `Database.run`'s worker "
        "thread: on PostgreSQL one call to the `reelbot_store_job` function in autocommit mode "
        "(it locks the member's row, reads the usage and in-flight figures and inserts the "
        "job, ledger and audit rows only if they allow it; a refusal comes back with the "
        "figures the member is shown, from the same call), on SQLite one write transaction "
        "(a figures query and three inserts, or the refusal's figures). The job objects are "
        "made before the clock starts, as the command makes them from the member's request "
        "before it asks for the reservation. Rate: all reservations over the span from the "
        "first process's start to the last one's finish."
    )
    section.note(
        "The function alone: the floor under the bot's figures on this machine. The same "
        "`reelbot_store_job` call with the same parameters, from raw psycopg in autocommit "
        "(no SQLAlchemy, no worker thread, no event loop work, and the refusal's figures left "
        "unread), each process's parameters built before the clock starts; the same 8 "
        "processes, shapes and limits, on the same server (a fresh database)."
    )
    section.note(
        "One member: its quota is half of all reservations (in-flight cap one above). "
        "8 members, one per process, all in one server: each member's in-flight cap is half its "
        'reservations (quota one above). "Never over a limit" reads the ledger and job rows '
        "after each run: the most units any member has counted and the most unfinished jobs."
    )
    section.note(
        "SQLite: one file in WAL mode, synchronous=NORMAL (no fsync per commit). PostgreSQL 15: "
        "a throwaway server on loopback TCP, default READ COMMITTED. The rows marked "
        "PostgreSQL are the test suite's server (`tests/pg.py`: fsync, synchronous_commit and "
        "full_page_writes OFF, a set-up that can lose committed transactions in a crash, "
        "never one to run the bot on); the rows marked durable are a second server with all "
        "three on, PostgreSQL's defaults, each commit flushed to disk before it returns. "
        "One connection per process (each process reserves one at a time)."
    )
    section.note(
        "CPU per reservation: the competing processes' CPU time over their reservations "
        "(time.process_time), plus for PostgreSQL its server processes' (/proc, the postmaster "
        "and its children, reaped ones included), divided by the reservations. Ceiling: the "
        "machine's cores over that, the rate if the machine did nothing else."
    )
    elsewhere = ", ".join(
        f"{_DATABASES[db]} {'one member' if same else '8 members'} {run.elsewhere:.1f}"
        for (db, same), run in runs.items()
    )
    section.note(
        f"Machine load: {os.cpu_count()} cores shared with other work. Cores busy with work "
        f"other than this benchmark's processes and server, on average over each run "
        f"(/proc/stat): {elsewhere}. 1-minute load average {load_before[0]:.1f} before the "
        f"runs, {load_after[0]:.1f} after (the benchmark's own 8 processes included). Figures "
        "vary between runs with that load."
    )
    return section


async def run(quick: bool) -> Section:
    return await asyncio.to_thread(_measure, quick)
