"""Two bot processes, one shard each, on one PostgreSQL, with 1,000 jobs in flight between them:
each process's event-loop lag, RSS and CPU, the provider status requests per second, then the
takeover after one of them is SIGKILLed, and the delivery of every job exactly once.

Each bot runs in a child process started like `python -m bot run` (`bot.app.serve`, settings
from the environment, `DISCORD_SHARD_COUNT=2` and its own `DISCORD_SHARD_IDS`), plus the loop-lag
probe of `benchmarks.bot_load`. The probe's samples are appended to a file every second, so the
figures of the process that is SIGKILLed survive it. The loopback fake Discord (two servers, one
per shard), both provider simulators and a throwaway PostgreSQL 15 (`tests.pg`) belong to the
parent, so each bot's RSS, CPU and lag are its own.

1. Both processes start at the same moment on an empty database. `jobs` members (half in each
   server) each invoke /video, in gathered batches, until every job is at a provider (scripted
   never to finish during the run; `MAX_CONCURRENT_JOBS` is above `jobs`, so all of them poll).
2. After `settle` seconds (every job past the poll warm-up), a `window` is measured: per process
   the lag, RSS and CPU; the status GETs per second at the simulators.
3. The shard-0 process is SIGKILLed. Takeover time: from the kill until the survivor holds the
   lease of every job the dead one drove (job rows read from outside); the simulators must still
   have exactly one submit per job.
4. The survivor, alone with every job, is measured for `window` seconds too; then the provider
   jobs finish (staggered) and each must be delivered exactly once: one result post per job.

Run as `python -m benchmarks.two_processes --bot-child OUT` it is a child: the bot plus the probe.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._report import Section
from benchmarks.bot_load import FULL as BOT_LOAD_FULL
from benchmarks.bot_load import (
    POLL_INTERVAL,
    GcTimer,
    LoopProbe,
    ProcessSampler,
    Spread,
    child_settings,
    final_text,
    log_problems,
    machine_busy,
    mib,
    port_of,
    probed,
    settings_overrides,
    wait_replies,
)

if TYPE_CHECKING:
    from tests.e2e.harness import World
    from tests.fakediscord import FakeInteraction

NAME = "two_processes"
TITLE = "Two processes on one PostgreSQL: 1,000 jobs in flight, then a SIGKILL"

FLUSH_EVERY = 1.0  # seconds between the child's appends of its probe samples
LAG_TARGET_MS = 50.0
TAKEOVER_MARGIN = 5.0  # the target: LEASE_SECONDS plus this
ROWS_EVERY = 0.2  # seconds between reads of the job rows while waiting for the takeover
# (guild_id >> 22) % 2 (Discord docs topics/gateway "Sharding"): GUILD (4100) is on shard 0,
# this one on shard 1 (as in tests/e2e/test_processes_postgresql.py).
GUILD_ON_1 = (1 << 22) | 4100
CHANNEL_ON_1 = (1 << 22) | 4200
FIRST_MEMBER = 8_000_000
RUN_FOREVER = 1e7  # simulated seconds: no job finishes before the benchmark lets it
SIM_SCALE = 100.0  # the harness's simulators run 100 simulated seconds per real second
FINISH_SPREAD = 20.0  # real seconds over which the jobs are let finish


@dataclass(frozen=True, slots=True)
class Params:
    jobs: int
    batch: int
    """Commands are sent in gathered batches of this size (half to each server)."""
    settle: float
    window: float
    lease_seconds: float
    deliver_timeout: float

    @property
    def guard(self) -> float:
        return 180.0 + 2 * self.settle + 2 * self.window + self.jobs * 0.25 + self.deliver_timeout


FULL = Params(
    jobs=1000, batch=100, settle=25.0, window=30.0, lease_seconds=20.0, deliver_timeout=180
)
QUICK = Params(jobs=100, batch=50, settle=5.0, window=10.0, lease_seconds=10.0, deliver_timeout=60)


def overrides(params: Params) -> dict[str, Any]:
    """`bot_load`'s settings (the default poll cadence in real time), with room for every job
    and a shorter lease so the takeover does not dominate the run."""
    return settings_overrides(BOT_LOAD_FULL) | {
        "max_concurrent_jobs": 2 * params.jobs,
        "lease_seconds": params.lease_seconds,
    }


# ----- the child: the bot as `python -m bot run` runs it, plus the probe, flushed as it goes


async def _flush(probe: LoopProbe, gc_timer: GcTimer, out: Path) -> None:
    """Append the samples taken since the last pass to `out`, one JSON line a pass."""
    lag_done = gc_done = 0

    def append(line: str) -> None:
        with out.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    while True:
        await asyncio.sleep(FLUSH_EVERY)
        lag, gcs = probe.samples[lag_done:], gc_timer.pauses[gc_done:]
        lag_done, gc_done = lag_done + len(lag), gc_done + len(gcs)
        await asyncio.to_thread(append, json.dumps({"lag": lag, "gc": gcs}))


async def _child_serve(out: Path) -> int:
    from bot.app import serve

    settings = child_settings()
    async with probed(lambda probe, gc_timer: _flush(probe, gc_timer, out)):
        return await serve(settings)


def child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="internal: the bot plus a loop-lag probe")
    parser.add_argument("--bot-child", type=Path, required=True, metavar="OUT")
    args = parser.parse_args(argv)
    return asyncio.run(_child_serve(args.bot_child))


# ----- the parent


@dataclass
class Bot:
    """One child process, what it is sampled by, and what it wrote."""

    shard: int
    process: asyncio.subprocess.Process
    sampler: ProcessSampler
    probe_out: Path
    log: Path
    lag: list[tuple[float, float]] = field(default_factory=list)
    gc: list[tuple[float, int, float]] = field(default_factory=list)

    def read_probe(self) -> None:
        self.lag, self.gc = [], []
        with contextlib.suppress(OSError):
            for line in self.probe_out.read_text("utf-8").splitlines():
                with contextlib.suppress(ValueError):
                    chunk = json.loads(line)
                    self.lag += [(float(t), float(late)) for t, late in chunk["lag"]]
                    self.gc += [(float(t), int(g), float(ms)) for t, g, ms in chunk["gc"]]

    def lag_between(self, start: float, end: float) -> Spread:
        return Spread.of([late for t, late in self.lag if start <= t <= end])

    def gc_between(self, start: float, end: float) -> str:
        pauses = [ms for t, _, ms in self.gc if start <= t <= end]
        return f"{len(pauses)} notable GC pauses, longest {max(pauses, default=0.0):.0f} ms"


@dataclass
class Window:
    """One measured stretch of time."""

    start: float = 0.0
    end: float = 0.0
    cpu: dict[int, float] = field(default_factory=dict)  # per shard: CPU seconds
    rss: dict[int, int] = field(default_factory=dict)  # per shard: max RSS
    polls: int = 0  # status/result GETs at both simulators
    parent_cpu: float = 0.0
    others_cpu: float = 0.0

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Outcome:
    params: Params
    started_together: float = 0.0  # seconds until both processes were connected
    sent: int = 0
    accepted: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    late_acks: int = 0
    answered_at: float = 0.0  # seconds from the first command until every one was answered
    in_flight_at: float = 0.0  # seconds from the first command until every job was at a provider
    owners: dict[int, int] = field(default_factory=dict)  # per shard: leases held at the window
    states: dict[str, int] = field(default_factory=dict)
    both: Window = field(default_factory=Window)
    alone: Window = field(default_factory=Window)
    dead_jobs: int = 0
    takeover_first: float = float("nan")
    takeover_all: float = float("nan")
    taken_over: int = 0
    submits: Counter[str] = field(default_factory=Counter)
    delivered_rows: int = 0
    result_posts: int = 0
    distinct_results: int = 0
    deliver_seconds: float = float("nan")
    survivor_exit: int | None = None
    bots: list[Bot] = field(default_factory=list)
    parent_lag: list[tuple[float, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)  # the exception of each traceback


def prompt_of(index: int) -> str:
    return f"two processes clip {index}"


def add_second_server(w: World, members: list[int]) -> None:
    """A second server, on shard 1; the members alternate between the two servers."""
    from tests.e2e.harness import GUILD

    w.fake.shard_count = 2
    w.fake.gateway.max_concurrency = 2  # shards 0 and 1 identify in different buckets
    second = w.fake.add_guild(GUILD_ON_1)
    second.add_channel(CHANNEL_ON_1, name="videos")
    first = w.fake.guilds[GUILD]
    for index, uid in enumerate(members):
        (first if index % 2 == 0 else second).add_member(uid, name=f"pair{index}")
    assert (w.fake.shard_of(GUILD), w.fake.shard_of(GUILD_ON_1)) == (0, 1)


async def spawn(w: World, tmp: Path, shard: int) -> Bot:
    import psutil

    from tests.e2e.processes import bot_env

    probe_out, log = tmp / f"probe-{shard}.jsonl", tmp / f"bot-{shard}.log"
    handle = await asyncio.to_thread(log.open, "wb")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.two_processes",
            "--bot-child",
            str(probe_out),
            env=bot_env(w, DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS=str(shard)),
            cwd=tmp,
            stdout=handle,
            stderr=handle,
        )
    finally:
        handle.close()
    ports = {port_of(w.runcomfy.base_url), port_of(w.wavespeed.base_url)}
    return Bot(shard, process, ProcessSampler(psutil.Process(process.pid), ports), probe_out, log)


async def send_all(w: World, members: list[int], params: Params, o: Outcome) -> None:
    """Every member's /video, in gathered batches; alternately in each server, provider."""
    from tests.e2e.harness import CHANNEL, GUILD

    def invoke(index: int) -> Any:
        on_0 = index % 2 == 0
        return w.fake.invoke(
            "video",
            [
                {"name": "prompt", "type": 3, "value": prompt_of(index)},
                {"name": "provider", "type": 3, "value": ("runcomfy", "wavespeed")[index // 2 % 2]},
            ],
            guild_id=GUILD if on_0 else GUILD_ON_1,
            channel_id=CHANNEL if on_0 else CHANNEL_ON_1,
            user_id=members[index],
            timeout=60,
        )

    for start in range(0, params.jobs, params.batch):
        indices = range(start, min(start + params.batch, params.jobs))
        interactions: list[FakeInteraction] = list(
            await asyncio.gather(*(invoke(i) for i in indices))
        )
        replies = await wait_replies(interactions, 120)
        o.sent += len(interactions)
        o.late_acks += sum(
            1 for i in interactions if i.acknowledged_at is None or i.acknowledged_at > 3.0
        )
        for interaction in interactions:
            text = final_text(interaction) or replies.texts.get(interaction.id)
            if text is not None and "on its way" in text:
                o.accepted += 1
            else:
                o.refusals[(text or "(no final answer)")[:80]] += 1


async def measure_window(w: World, bots: list[Bot], seconds: float) -> Window:
    window = Window()
    polls_before = polls(w)
    cpu_before = {b.shard: b.sampler.cpu() for b in bots}
    parent_before = time.process_time()
    machine_before = machine_busy()
    window.start = time.monotonic()
    await asyncio.sleep(seconds)
    window.end = time.monotonic()
    window.polls = polls(w) - polls_before
    window.cpu = {b.shard: b.sampler.cpu() - cpu_before[b.shard] for b in bots}
    window.parent_cpu = time.process_time() - parent_before
    window.others_cpu = (
        machine_busy() - machine_before - sum(window.cpu.values()) - window.parent_cpu
    )
    window.rss = {
        b.shard: max(b.sampler.between(window.start, window.end), default=0) for b in bots
    }
    return window


def error_causes(log: Path) -> list[str]:
    """The last line of each traceback in `log` (the exception and its message)."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    causes: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            tail = index + 1
            while tail < len(lines) and lines[tail][:1] in (" ", ""):
                tail += 1
            if tail < len(lines):
                causes.append(lines[tail])
    return causes


def polls(w: World) -> int:
    return sum(
        1
        for sim in (w.runcomfy, w.wavespeed)
        for r in sim.requests
        if r.kind in ("status", "result")
    )


def submitted_prompts(w: World) -> Counter[str]:
    return Counter(
        str(r.json["prompt"])
        for sim in (w.runcomfy, w.wavespeed)
        for r in sim.submits()
        if isinstance(r.json, dict)
    )


def result_posts(w: World) -> list[str]:
    """The job id of every result post in both servers (its Re-roll button names it)."""
    from tests.e2e.harness import CHANNEL

    return [
        custom_id.removeprefix("reelbot:reroll:")
        for channel in (CHANNEL, CHANNEL_ON_1)
        for message in w.results(channel)
        for custom_id in message.custom_ids()
        if custom_id.startswith("reelbot:reroll:")
    ]


def let_jobs_finish(w: World) -> None:
    """Every provider job ends within FINISH_SPREAD real seconds from now, staggered."""
    for sim in (w.runcomfy, w.wavespeed):
        now = sim.now()
        for index, job in enumerate(sim.jobs.values()):
            running_for = max(0.0, now - job.submitted_at - job.script.queue_seconds)
            stagger = (1.0 + (index % 100) / 100 * (FINISH_SPREAD - 1.0)) * SIM_SCALE
            job.script = dataclasses.replace(job.script, run_seconds=running_for + stagger)


class Rows:
    """The job table read from outside the bots, over one psycopg connection."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def all(self) -> list[tuple[str, int, str | None, str]]:
        cursor = await self.connection.execute("SELECT id, guild_id, lease_owner, state FROM job")
        return [(str(i), int(g or 0), o, str(s)) for i, g, o, s in await cursor.fetchall()]


async def takeover(rows: Rows, dead: str, killed_at: float, params: Params, o: Outcome) -> None:
    """Wait until no job the dead owner drove still has its lease or none; time the first and
    the last job taken."""
    driven = {job_id for job_id, _, owner, state in await rows.all() if owner == dead}
    o.dead_jobs = len(driven)
    taken: dict[str, float] = {}
    deadline = killed_at + params.lease_seconds * 3 + 60.0
    while len(taken) < len(driven) and time.monotonic() < deadline:
        now = time.monotonic()
        for job_id, _, owner, _ in await rows.all():
            if job_id in driven and job_id not in taken and owner not in (None, dead):
                taken[job_id] = now - killed_at
        await asyncio.sleep(ROWS_EVERY)
    o.taken_over = len(taken)
    if taken:
        o.takeover_first = min(taken.values())
    if len(taken) == len(driven):
        o.takeover_all = max(taken.values(), default=0.0)


async def measure(tmp: Path, params: Params) -> Outcome:
    import psycopg

    from tests.e2e.harness import GUILD, world
    from tests.pg import PostgresServer, dsn

    o = Outcome(params)
    server = PostgresServer()
    await asyncio.to_thread(server.start)
    try:
        url = await asyncio.to_thread(server.database)
        async with (
            world(
                tmp,
                database_url=url,
                discord_guild_ids=f"{GUILD},{GUILD_ON_1}",
                **overrides(params),
            ) as w,
            await psycopg.AsyncConnection.connect(dsn(url), autocommit=True) as connection,
        ):
            await _story(w, tmp, params, Rows(connection), o)
    finally:
        await asyncio.to_thread(server.stop)
    for bot in o.bots:
        bot.read_probe()
        o.problems += await asyncio.to_thread(log_problems, bot.log)
        o.causes += await asyncio.to_thread(error_causes, bot.log)
    return o


async def wait_for_commands(w: World, guild_id: int) -> None:
    await w.fake.wait_for(lambda: w.fake.command_id("video", guild_id) is not None, timeout=60)


async def _story(w: World, tmp: Path, params: Params, rows: Rows, o: Outcome) -> None:
    import psutil

    from tests.e2e.harness import GUILD
    from tests.providersim import JobScript

    w.fake.ack_deadline = None  # measure late acks instead of refusing them
    w.fake.rate_limits.enabled = False  # the bots' own cost, not Discord's limits
    members = [FIRST_MEMBER + i for i in range(params.jobs)]
    add_second_server(w, members)
    w.runcomfy.default_script = JobScript(
        queue_seconds=2000.0, queue_positions=[3, 2, 1], run_seconds=RUN_FOREVER
    )
    w.wavespeed.default_script = JobScript(queue_seconds=1000.0, run_seconds=RUN_FOREVER)
    parent_probe = LoopProbe()
    loop = asyncio.get_running_loop()
    background = [loop.create_task(parent_probe.run())]
    started = time.monotonic()
    try:
        o.bots = list(await asyncio.gather(spawn(w, tmp, 0), spawn(w, tmp, 1)))
        await w.fake.wait_until_connected(timeout=90, guild_id=GUILD)
        await w.fake.wait_until_connected(timeout=90, guild_id=GUILD_ON_1)
        for guild_id in (GUILD, GUILD_ON_1):
            await wait_for_commands(w, guild_id)
        o.started_together = time.monotonic() - started
        sampling = {b.shard: loop.create_task(b.sampler.run()) for b in o.bots}
        background += sampling.values()
        print(f"  both processes up in {o.started_together:.1f} s; sending {params.jobs} /video")

        first_command = time.monotonic()
        await send_all(w, members, params, o)
        o.answered_at = time.monotonic() - first_command
        await w.fake.wait_for(
            lambda: len(w.runcomfy.jobs) + len(w.wavespeed.jobs) >= o.accepted, timeout=180
        )
        o.in_flight_at = time.monotonic() - first_command
        print(
            f"  {o.accepted} accepted in {o.answered_at:.1f} s, at the providers after "
            f"{o.in_flight_at:.1f} s; settling "
            f"{params.settle:g} s, then measuring {params.window:g} s",
            flush=True,
        )
        await asyncio.sleep(params.settle)
        o.both = await measure_window(w, o.bots, params.window)
        before = await rows.all()
        o.states = dict(Counter(state for *_, state in before))
        owner_of = {
            shard: Counter(
                owner for _, g, owner, _ in before if g == guild and owner is not None
            ).most_common(1)[0][0]
            for shard, guild in ((0, GUILD), (1, GUILD_ON_1))
        }
        held = Counter(owner for _, _, owner, _ in before)
        o.owners = {shard: held[owner] for shard, owner in owner_of.items()}

        await asyncio.sleep(2 * FLUSH_EVERY)  # the probe file covers the window
        dead, survivor = o.bots
        print(f"  SIGKILL to the shard-0 process (LEASE_SECONDS={params.lease_seconds:g})")
        sampling[dead.shard].cancel()
        killed_at = time.monotonic()
        dead.process.kill()
        await dead.process.wait()
        await takeover(rows, owner_of[0], killed_at, params, o)
        print(f"  takeover of {o.taken_over} of {o.dead_jobs} jobs: {o.takeover_all:.1f} s")
        o.alone = await measure_window(w, [survivor], params.window)
        o.submits = submitted_prompts(w)

        print("  letting every job finish", flush=True)
        let_jobs_finish(w)
        finish_started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await w.fake.wait_for(
                lambda: len(set(result_posts(w))) >= o.accepted, timeout=params.deliver_timeout
            )
        o.deliver_seconds = time.monotonic() - finish_started
        await asyncio.sleep(3.0)  # a second post of any job would show up by now
        posts = result_posts(w)
        o.result_posts, o.distinct_results = len(posts), len(set(posts))
        o.delivered_rows = sum(1 for *_, state in await rows.all() if state == "delivered")

        survivor.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            o.survivor_exit = await survivor.process.wait()
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, psutil.Error):
                await task
        for bot in o.bots:
            if bot.process.returncode is None:
                bot.process.kill()
                await bot.process.wait()
        o.parent_lag = parent_probe.samples


# ----- the report


def _cpu(seconds: float, window: Window) -> str:
    return f"{seconds / window.seconds * 100:.0f}% of one core"


def report(o: Outcome, wall: float, quick: bool) -> Section:
    p = o.params
    s = Section()
    both, alone = o.both, o.alone
    s.add(
        f"/video accepted (half in each shard's server, batches of {p.batch})",
        f"{o.accepted} of {o.sent}; {o.late_acks} acks later than 3 s",
        f"{p.jobs}",
        o.accepted == p.jobs,
    )
    in_flight = o.states.get("submitted", 0) + o.states.get("running", 0)
    s.add(
        "Jobs in flight at the window (leases: shard-0 process / shard-1 process)",
        f"{in_flight} ({o.owners.get(0, 0)} / {o.owners.get(1, 0)})",
        f"{p.jobs}",
        in_flight == p.jobs,
    )
    for bot in o.bots:
        lag = bot.lag_between(both.start, both.end)
        s.add(
            f"Shard-{bot.shard} process: event-loop lag p50 / p99 / max, {p.window:g} s window",
            f"{lag.p50:.1f} / {lag.p99:.1f} / {lag.max:.0f} ms ({lag.count} samples)",
            f"p99 < {LAG_TARGET_MS:g} ms",
            lag.p99 < LAG_TARGET_MS,
        )
    for bot in o.bots:
        most, seen = bot.sampler.connections_between(both.start, both.end)
        s.add(
            f"Shard-{bot.shard} process: TCP connections to the providers, most open at once / "
            "distinct in the window",
            f"{most} / {seen}",
        )
    for bot in o.bots:
        s.add(
            f"Shard-{bot.shard} process: RSS (max in window) / CPU",
            f"{mib(both.rss.get(bot.shard, 0))} / {_cpu(both.cpu.get(bot.shard, 0.0), both)}",
        )
    scheduled = p.jobs / POLL_INTERVAL
    rate = both.polls / both.seconds
    past_warmup = p.settle >= 20.0  # the default warm-up: 20 s of slower polls
    s.add(
        "Provider status requests/s, both processes",
        f"{rate:.0f} (the cadence asks for ≈ {scheduled:.0f})",
        f"≈ {scheduled:.0f}" if past_warmup else "—",
        rate >= 0.9 * scheduled if past_warmup else None,
    )
    target = p.lease_seconds + TAKEOVER_MARGIN
    s.add(
        f"Takeover after SIGKILL of {o.dead_jobs} jobs (LEASE_SECONDS={p.lease_seconds:g}): "
        "first / all",
        f"{o.takeover_first:.1f} s / {o.takeover_all:.1f} s ({o.taken_over} taken over)",
        f"≤ {target:g} s",
        o.taken_over == o.dead_jobs > 0 and o.takeover_all <= target,
    )
    twice = sum(1 for count in o.submits.values() if count > 1)
    s.add(
        "Submits at the simulators after the takeover",
        f"{sum(o.submits.values())} for {len(o.submits)} jobs, {twice} submitted twice",
        "one per job",
        twice == 0 and len(o.submits) == o.accepted,
    )
    survivor = o.bots[1] if len(o.bots) > 1 else None
    if survivor is not None and alone.seconds > 0:
        lag = survivor.lag_between(alone.start, alone.end)
        s.add(
            f"Survivor alone with {p.jobs} jobs: lag p50 / p99 / max",
            f"{lag.p50:.1f} / {lag.p99:.1f} / {lag.max:.0f} ms",
        )
        s.add(
            f"Survivor alone with {p.jobs} jobs: RSS / CPU / status requests/s",
            f"{mib(alone.rss.get(1, 0))} / {_cpu(alone.cpu.get(1, 0.0), alone)} / "
            f"{alone.polls / alone.seconds:.0f}",
        )
    s.add(
        "Delivered after the jobs finished: result posts / distinct jobs / rows delivered",
        f"{o.result_posts} / {o.distinct_results} / {o.delivered_rows} "
        f"in {o.deliver_seconds:.1f} s",
        f"{o.accepted} each, posted once",
        o.result_posts == o.distinct_results == o.delivered_rows == o.accepted,
    )
    s.add(
        "Survivor's clean stop (SIGTERM)", f"exit code {o.survivor_exit}", "0", o.survivor_exit == 0
    )
    s.add("Wall time", f"{wall:.1f} s")

    mode = " (quick mode)" if quick else ""
    s.note(
        f"Sizes{mode}: two bot processes (`DISCORD_SHARD_COUNT=2`, `DISCORD_SHARD_IDS` 0 and 1) "
        "started at the same moment on one empty PostgreSQL 15 database (`tests/pg.py`, loopback "
        f"TCP, fsync off); {p.jobs} members, half in a server on each shard, one /video each "
        f"(half RunComfy, half WaveSpeed), in gathered batches of {p.batch} (each batch waits "
        "for its answers); all answered "
        f"{o.answered_at:.1f} s after the first command, every job at a provider after "
        f"{o.in_flight_at:.1f} s. The window starts "
        f"{p.settle:g} s later and lasts {p.window:g} s; the shard-0 process is then SIGKILLed."
    )
    ov = overrides(p)
    s.note(
        "Settings: `bot_load`'s (the default poll cadence in real time: every 1.5 s once past "
        "the 20 s warm-up; status edits at most every 3 s per job), LEASE_SECONDS "
        f"{p.lease_seconds:g} (renewed, and expired leases looked for, every "
        f"{min(5.0, p.lease_seconds / 4):g} s), MAX_CONCURRENT_JOBS {ov['max_concurrent_jobs']}. "
        "Provider jobs never finish until the benchmark lets them (then within "
        f"{FINISH_SPREAD:g} s, staggered). States at the window: "
        + ", ".join(f"{k} {v}" for k, v in sorted(o.states.items()))
        + "."
    )
    s.note(
        "Each bot is a child process run as `python -m bot run` runs it, plus `bot_load`'s probe "
        "(`asyncio.sleep(0.05)` in a loop, lag = overshoot), its samples appended to a file "
        f"every {FLUSH_EVERY:g} s so the SIGKILLed process's figures survive it. RSS and CPU: "
        "psutil from the parent. Takeover: from the SIGKILL until every job whose lease the "
        "dead process held names the survivor as lease owner (job rows read every "
        f"{ROWS_EVERY:g} s over a separate connection). Results: Re-roll button ids in both "
        "servers' channels."
    )
    if o.bots:
        s.note(
            "GC in the window: "
            + "; ".join(f"shard {b.shard}: {b.gc_between(both.start, both.end)}" for b in o.bots)
            + "."
        )
    parent = Spread.of([late for t, late in o.parent_lag if both.start <= t <= both.end])
    s.note(
        f"The parent (fake Discord, both simulators) in the window: lag {parent.ms()}, CPU "
        f"{_cpu(both.parent_cpu, both) if both.seconds else '?'}; every other process on the "
        f"machine (PostgreSQL included) "
        f"{_cpu(max(both.others_cpu, 0.0), both) if both.seconds else '?'} "
        f"({os.cpu_count() or '?'} cores in all): concurrent work elsewhere moves these figures."
    )
    if o.refusals:
        s.note("Not accepted: " + "; ".join(f"{n}× {t}" for t, n in o.refusals.items()) + ".")
    if o.problems:
        s.note(
            f"{len(o.problems)} WARNING/ERROR lines in the bots' logs, e.g.: "
            + " | ".join(re.sub(r"\s+", " ", line)[:200] for line in o.problems[:3])
            + (
                "; their exceptions: " + " | ".join(c[:200] for c in sorted(set(o.causes))[:3])
                if o.causes
                else ""
            )
        )
    else:
        s.note("No WARNING or ERROR line in the bots' logs.")
    return s


async def run(quick: bool) -> Section:
    params = QUICK if quick else FULL
    print(
        f"  two bot processes on PostgreSQL, {params.jobs} jobs in flight, "
        f"LEASE_SECONDS={params.lease_seconds:g}",
        flush=True,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reelbot-bench-two-") as directory:
        async with asyncio.timeout(params.guard):
            outcome = await measure(Path(directory), params)
    return report(outcome, time.perf_counter() - started, quick)


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
