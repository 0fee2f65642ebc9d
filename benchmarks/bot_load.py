"""The bot under load: acknowledgement latency of a burst of /video commands, then the event-loop
lag and memory of one bot process with hundreds of jobs in flight.

The real bot runs in a child process started like `python -m bot run` (the same `bot.app.serve`,
the same logging set-up, settings from environment variables), plus one probe task on its event
loop. The loopback fake Discord and both provider simulators (`tests.e2e.harness.world`) run in
this, the parent, process; so the bot's RSS, CPU and loop lag are its own, and the fake's cost
shows up only in the parent's figures.

1. Burst: `burst` members (added to the fake guild before the bot connects) each invoke /video at
   the same moment (one `asyncio.gather` of INTERACTION_CREATE dispatches). Figures: each
   interaction's `acknowledged_at` (dispatch -> first callback, measured by the fake), and the
   time until every member saw their final ephemeral answer.
2. Jobs in flight: more members invoke /video (in batches) until `jobs` jobs run at the
   providers (`max_concurrent_jobs` is above that, so all of them really poll the simulators
   with the default poll cadence, in real time). Provider jobs are scripted never to finish
   during the run. After `settle` seconds (so every job is past the poll warm-up), a `window`
   of seconds is measured: the bot's event-loop lag (a probe task sleeping 50 ms in a loop and
   recording the overshoot), its RSS and CPU (psutil, from the parent) and the poll rate.

Run as `python -m benchmarks.bot_load --bot-child OUT` it is the child: the bot plus the probe,
whose samples are written to OUT as JSON when the bot stops (SIGTERM, as for `python -m bot`).
The child imports nothing here beyond what `python -m bot run` imports (the heavy parent-side
imports are done inside the parent's functions).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import math
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from benchmarks._report import Section, percentile

if TYPE_CHECKING:
    import psutil

    from bot.core.settings import Settings
    from tests.e2e.harness import World
    from tests.fakediscord import FakeInteraction

NAME = "bot_load"
TITLE = "The bot under load"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ACK_TARGET = 3.0  # seconds: Discord's interaction deadline
PROBE_SLEEP = 0.05  # seconds the probe asks for
FIRST_MEMBER = 7_000_000
RSS_EVERY = 0.5  # seconds between RSS samples
REPLY_CHECK_EVERY = 0.01  # seconds between checks for final replies
MiB = 1024 * 1024

# Provider jobs never finish during the run: queued, then running for ~10^5 real seconds (the
# harness's simulators run 100 simulated seconds per real second).
RUNCOMFY_QUEUE = 2000.0  # simulated s: 20 real s, positions 3, 2, 1
WAVESPEED_QUEUE = 1000.0  # simulated s: 10 real s
RUN_FOREVER = 1e7
POLL_INTERVAL = 1.5  # the default cadence's interval after the warm-up
# discord.py's start-up notes about optional voice libraries: not problems.
HARMLESS = ("voice will NOT be supported",)
GC_NOTABLE_MS = 5.0
# Set to a path prefix, the bot child runs under cProfile and writes PREFIX.PID when it stops
# (`python -m pstats` reads it): where the bot's time goes under this load.
PROFILE_ENV = "BOT_LOAD_PROFILE"
SLOW_WAKEUP_MS = 30.0


@dataclass(frozen=True, slots=True)
class Params:
    burst: int
    """Simultaneous /video commands, one per member."""
    jobs: int
    """Jobs in flight during the measured window (the burst's included)."""
    batch: int
    """The remaining commands are sent in gathered batches of this size."""
    settle: float
    """Seconds between the last job reaching the provider and the window."""
    window: float
    """Seconds measured with all jobs in flight."""
    ramp: float = 0.0
    """The commands after the burst are spread over this many seconds (0: back to back), so
    the jobs' ages at the window are spread like those of a steady stream of commands."""
    budget: float = math.inf
    """Seconds after the burst's dispatch past which no more commands are sent: a bot that
    cannot take `jobs` in that time is measured with the jobs it took (reported as a miss)."""
    history: int = 0
    """Finished jobs per configuration in the learned poller's history before the bot starts
    (0: none, so the poller keeps today's cadence)."""

    @property
    def guard(self) -> float:
        """Real seconds after which the run is abandoned."""
        return 120.0 + self.settle + self.window + self.jobs * 0.2


# The earlier sizes, today's cadence (no history), for comparison with the scaled case.
FULL = Params(burst=200, jobs=500, batch=50, settle=25.0, window=30.0)
QUICK = Params(burst=50, jobs=100, batch=50, settle=5.0, window=10.0)
# The sizes: 1,000 simultaneous commands, 5,000 jobs in flight, the learned poller.
SCALED = Params(
    burst=1000, jobs=5000, batch=50, settle=10.0, window=30.0, ramp=80.0, budget=170.0, history=50
)
SCALED_QUICK = Params(burst=200, jobs=600, batch=50, settle=5.0, window=10.0, ramp=10.0, history=20)
SCALED_ACK_TARGET = 0.5  # seconds, p99 of the burst
LAG_TARGET = 50.0  # ms, p99 of the bot's event-loop lag with every job in flight
RSS_TARGET = 250 * 1024 * 1024
# Generation times of the scaled case's configurations (as in `learned_poll`): log-normal
# around a median, sigma SPREAD; the history is drawn from them.
MEDIANS = {"runcomfy": 55.0, "wavespeed": 70.0}
SPREAD = 0.2
HISTORY_SEED = 20261130


def settings_overrides(params: Params) -> dict[str, Any]:
    """What differs from the defaults (the poll cadence, status edit interval and lease are the
    defaults: the harness's fast test values are not used)."""
    return {
        "quota_limit": 1000,
        "max_jobs_per_member": 100,
        "max_concurrent_jobs": 2 * params.jobs,
        "poll_first_delay": 1.0,
        "poll_warmup": 20.0,
        "poll_interval": 1.5,
        "poll_queue_seconds_per_position": 3.0,
        "poll_max_interval": 15.0,
        "status_edit_interval": 3.0,
        "lease_seconds": 60.0,
        "log_level": "INFO",
    }


# ----- statistics


@dataclass(frozen=True, slots=True)
class Spread:
    p50: float
    p99: float
    max: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(
            percentile(values, 50),
            percentile(values, 99),
            max(values, default=math.nan),
            len(values),
        )

    def ms(self) -> str:
        return f"p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms, max {self.max:.1f} ms"

    def s(self) -> str:
        return f"p50 {self.p50:.2f} s, p99 {self.p99:.2f} s, max {self.max:.2f} s"


# ----- the event-loop probe (child and parent)


class LoopProbe:
    """Sleeps PROBE_SLEEP in a loop; records (monotonic time at wake-up, overshoot in ms).
    `time.monotonic` is CLOCK_MONOTONIC, shared by all processes on the machine."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []

    async def run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(PROBE_SLEEP)
            late = (time.perf_counter() - before - PROBE_SLEEP) * 1000.0
            self.samples.append((time.monotonic(), late))

    def between(self, start: float, end: float) -> list[float]:
        return [late for t, late in self.samples if start <= t <= end]


class GcTimer:
    """A `gc.callbacks` entry: records (monotonic end, generation, ms) of every full (generation
    2) collection and of any collection taking GC_NOTABLE_MS or more."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._started) * 1000.0
        generation = info.get("generation", -1)
        if generation == 2 or ms >= GC_NOTABLE_MS:
            self.pauses.append((time.monotonic(), generation, ms))


# ----- the child: the bot as `python -m bot run` runs it, plus the probe


def child_settings() -> Settings:
    """The bot's settings from the environment, with logging to stderr, as `python -m bot run`
    sets them up (`bot.__main__.main`)."""
    from bot.core.observability import logs
    from bot.core.settings import load_settings

    settings = load_settings()
    logs.configure(level=settings.log_level, fmt=settings.log_format, stream=sys.stderr)
    logs.quiet_request_logs()
    return settings


@contextlib.asynccontextmanager
async def probed(
    beside: Callable[[LoopProbe, GcTimer], Coroutine[Any, Any, None]] | None = None,
) -> AsyncIterator[tuple[LoopProbe, GcTimer]]:
    """The loop-lag probe and the GC timer, running for the block, with `beside` (given both)
    as one more task."""
    probe = LoopProbe()
    gc_timer = GcTimer()
    gc.callbacks.append(gc_timer)
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(probe.run())]
    if beside is not None:
        tasks.append(loop.create_task(beside(probe, gc_timer)))
    try:
        yield probe, gc_timer
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        gc.callbacks.remove(gc_timer)


async def _child_serve(out: Path) -> int:
    from bot.app import serve

    settings = child_settings()
    async with probed() as (probe, gc_timer):
        try:
            return await serve(settings)
        finally:
            samples = {"lag": probe.samples, "gc": gc_timer.pauses}
            await asyncio.to_thread(out.write_text, json.dumps(samples), "utf-8")


def child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="internal: the bot plus a loop-lag probe")
    parser.add_argument("--bot-child", type=Path, required=True, metavar="OUT")
    args = parser.parse_args(argv)
    profile_to = os.environ.get(PROFILE_ENV)
    if not profile_to:
        return asyncio.run(_child_serve(args.bot_child))
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(asyncio.run, _child_serve(args.bot_child))
    finally:
        profiler.dump_stats(f"{profile_to}.{os.getpid()}")


# ----- the parent


def child_env(w: World, params: Params, *, metrics_listen: str | None = None) -> dict[str, str]:
    from tests.e2e.harness import BOT_TOKEN, GUILD, PROVIDER_KEY

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "RUNCOMFY_", "WAVESPEED_"))
    }
    s = w.settings
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        DISCORD_TOKEN=BOT_TOKEN,
        DISCORD_GUILD_IDS=str(GUILD),
        DISCORD_API_BASE_URL=w.fake.api_base,
        DISCORD_GATEWAY_URL=w.fake.gateway_url,
        RUNCOMFY_API_KEY=PROVIDER_KEY,
        WAVESPEED_API_KEY=PROVIDER_KEY,
        RUNCOMFY_BASE_URL=w.runcomfy.base_url,
        WAVESPEED_BASE_URL=w.wavespeed.base_url,
        ALLOW_LOOPBACK_URLS="true",
        DATABASE_URL=s.database_url,
        WORK_DIR=str(s.work_dir),
    )
    env.update({k.upper(): str(v) for k, v in settings_overrides(params).items()})
    if metrics_listen is not None:
        env["METRICS_LISTEN"] = metrics_listen
    return env


def seed_history(database_url: str, per_config: int) -> None:
    """`per_config` finished jobs per configuration the scaled case's commands use (text, 5 s
    and 10 s, 1080P), with running times drawn around MEDIANS, in the learned poller's table.
    The schema is the bot's own (migrated here, as the bot would at start)."""
    from bot.core.db import Database
    from bot.core.jobs import timings

    rng = random.Random(HISTORY_SEED)
    db = Database.connect(database_url)
    try:
        with db.session() as session:
            now = time.time()
            for provider, median in MEDIANS.items():
                for duration in (5, 10):
                    for number in range(per_config):
                        run = (
                            median * (1 if duration == 5 else 1.8) * math.exp(rng.gauss(0, SPREAD))
                        )
                        submitted = now - 3600 + number * 60
                        session.add(
                            timings.JobTiming(
                                job_id=f"history{provider}{duration}{number}",
                                provider=provider,
                                mode="text",
                                duration=duration,
                                resolution="1080P",
                                submitted_at=submitted,
                                running_at=submitted + 1.0,
                                completed_at=submitted + run,
                                run_seconds=run,
                            )
                        )
            session.commit()
    finally:
        db.close()


@dataclass
class Scrape:
    """One GET of the bot's /metrics during the window, parsed with prometheus-client's parser."""

    status: int = 0
    seconds: float = math.nan
    families: int = 0
    samples: int = 0
    error: str = ""
    values: dict[str, float] = field(default_factory=dict)
    """A few samples: jobs running, status requests so far."""

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.families > 0 and not self.error


async def scrape_metrics(listen: str) -> Scrape:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    scrape = Scrape()
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
            response = await client.get(f"http://{listen}/metrics")
        scrape.seconds = time.perf_counter() - started
        scrape.status = response.status_code
        for family in text_string_to_metric_families(response.text):
            scrape.families += 1
            for sample in family.samples:
                scrape.samples += 1
                if sample.name == "reelbot_jobs" and sample.labels.get("state") == "running":
                    scrape.values["jobs running"] = sample.value
                if (
                    sample.name == "reelbot_provider_requests_total"
                    and sample.labels.get("kind") == "status"
                ):
                    scrape.values["status requests"] = (
                        scrape.values.get("status requests", 0.0) + sample.value
                    )
    except (httpx.HTTPError, ValueError) as error:
        scrape.error = f"{type(error).__name__}: {error}"
    return scrape


@dataclass
class Replies:
    """Per interaction: seconds from its dispatch to its final ephemeral answer, and the text."""

    seconds: dict[int, float] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)


def final_text(interaction: FakeInteraction) -> str | None:
    original = interaction.original
    if original is None or original.loading or not original.content:
        return None
    return original.content


async def wait_replies(interactions: list[FakeInteraction], limit: float) -> Replies:
    """Check every few ms which interactions got their final answer; stop when all did."""
    replies = Replies()
    deadline = time.monotonic() + limit
    while len(replies.seconds) < len(interactions) and time.monotonic() < deadline:
        now = time.monotonic()
        for interaction in interactions:
            if interaction.id in replies.seconds:
                continue
            text = final_text(interaction)
            if text is not None:
                replies.seconds[interaction.id] = now - interaction.created_at
                replies.texts[interaction.id] = text
        await asyncio.sleep(REPLY_CHECK_EVERY)
    return replies


@dataclass
class Batch:
    """A gathered set of /video commands and what came of them."""

    interactions: list[FakeInteraction]
    dispatched: float  # monotonic, before the first dispatch
    dispatch_spread: float  # seconds between the first and the last dispatch
    replies: Replies
    done: float  # monotonic, when the last answer was seen (or the wait gave up)

    @property
    def acks(self) -> list[float]:
        return [i.acknowledged_at for i in self.interactions if i.acknowledged_at is not None]

    @property
    def unacknowledged(self) -> int:
        return sum(1 for i in self.interactions if i.acknowledged_at is None)

    @property
    def late(self) -> int:
        return sum(1 for a in self.acks if a > ACK_TARGET) + self.unacknowledged

    @property
    def accepted(self) -> int:
        return sum(1 for t in self.replies.texts.values() if "on its way" in t)

    def refusals(self) -> Counter[str]:
        return Counter(
            t[:80] for t in self.replies.texts.values() if "on its way" not in t
        ) + Counter({"(no final answer)": len(self.interactions) - len(self.replies.texts)})


async def send_batch(w: World, members: Sequence[int], start: int, reply_timeout: float) -> Batch:
    def provider(index: int) -> str:
        return "runcomfy" if index % 2 == 0 else "wavespeed"

    dispatched = time.monotonic()
    interactions = list(
        await asyncio.gather(
            *(
                w.video(f"load test clip {start + i}", user=uid, provider=provider(start + i))
                for i, uid in enumerate(members)
            )
        )
    )
    created = [i.created_at for i in interactions]
    replies = await wait_replies(interactions, reply_timeout)
    return Batch(
        interactions=interactions,
        dispatched=dispatched,
        dispatch_spread=max(created) - min(created),
        replies=replies,
        done=time.monotonic(),
    )


class ProcessSampler:
    """Samples a process's RSS, and its TCP connections to the provider simulators, from this
    process's event loop; reads its CPU time."""

    def __init__(self, process: psutil.Process, provider_ports: set[int]) -> None:
        self.process = process
        self.provider_ports = provider_ports
        self.samples: list[tuple[float, int]] = []
        self.connections: list[tuple[float, int]] = []
        """(time, open connections to the simulators)"""
        self.local_ports: list[tuple[float, set[int]]] = []

    def rss(self) -> int:
        rss = int(self.process.memory_info().rss)
        self.samples.append((time.monotonic(), rss))
        return rss

    def sample_connections(self) -> None:
        ports = {
            c.laddr.port
            for c in self.process.net_connections(kind="tcp")
            if c.raddr and c.raddr.port in self.provider_ports
        }
        now = time.monotonic()
        self.connections.append((now, len(ports)))
        self.local_ports.append((now, ports))

    def cpu(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    async def run(self) -> None:
        while True:
            self.rss()
            self.sample_connections()
            await asyncio.sleep(RSS_EVERY)

    def between(self, start: float, end: float) -> list[int]:
        return [rss for t, rss in self.samples if start <= t <= end]

    def connections_between(self, start: float, end: float) -> tuple[int, int]:
        """Most connections open at once, and distinct connections seen (a lower bound on
        how many were opened), in [start, end]."""
        most = max((n for t, n in self.connections if start <= t <= end), default=0)
        seen: set[int] = set()
        for t, ports in self.local_ports:
            if start <= t <= end:
                seen |= ports
        return most, len(seen)


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def machine_busy() -> float:
    """CPU seconds all processes on the machine have used (every core)."""
    import psutil

    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system + times.irq + times.softirq)


def job_states(database_url: str) -> dict[str, int]:
    path = database_url.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return {
            str(state): int(count)
            for state, count in db.execute("SELECT state, count(*) FROM job GROUP BY state")
        }


def log_problems(log: Path) -> list[str]:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [
        line
        for line in lines
        if (" WARNING " in line or " ERROR " in line) and not any(h in line for h in HARMLESS)
    ]


@dataclass
class Outcome:
    """Everything measured in one run, for the report."""

    params: Params
    idle_rss: int = 0
    burst: Batch | None = None
    burst_rss: int = 0
    later: list[Batch] = field(default_factory=list)
    in_flight_at: float = 0.0  # seconds from the first batch until every job was at a provider
    in_flight: int = 0
    window_start: float = 0.0
    window_end: float = 0.0
    window_rss: list[int] = field(default_factory=list)
    window_cpu: float = 0.0  # CPU seconds of the bot over the window
    window_polls: int = 0  # GETs at both simulators over the window
    parent_window_cpu: float = 0.0
    others_window_cpu: float = 0.0  # CPU seconds of every other process on the machine
    window_connections: tuple[int, int] = (0, 0)
    scrape: Scrape | None = None
    ramp_seconds: float = 0.0  # from the burst's dispatch to the last batch's answers
    asked: int = 0  # jobs the case asked for (more than `params.jobs` if the budget ran out)
    states_after: dict[str, int] = field(default_factory=dict)
    peak_rss: int = 0
    stop_seconds: float = math.nan
    exit_code: int | None = None
    child_lag: list[tuple[float, float]] = field(default_factory=list)
    child_gc: list[tuple[float, int, float]] = field(default_factory=list)
    parent_lag: list[tuple[float, float]] = field(default_factory=list)
    log_problems: list[str] = field(default_factory=list)

    def lag(self, samples: list[tuple[float, float]], start: float, end: float) -> Spread:
        return Spread.of([late for t, late in samples if start <= t <= end])

    def gc_summary(self, start: float, end: float) -> str:
        """The bot's notable GC pauses in [start, end], and which slow probe wake-ups they
        explain (a pause that ended while the probe slept)."""
        pauses = [(t, g, ms) for t, g, ms in self.child_gc if start <= t <= end]
        full = [ms for _, g, ms in pauses if g == 2]
        slow = [
            (t, late) for t, late in self.child_lag if start <= t <= end and late >= SLOW_WAKEUP_MS
        ]
        explained = sum(
            1
            for t, late in slow
            if any(t - PROBE_SLEEP - late / 1000.0 <= g_t <= t for g_t, _, _ in pauses)
        )
        longest = max((ms for _, _, ms in pauses), default=0.0)
        return (
            f"{len(slow)} probe wake-ups {SLOW_WAKEUP_MS:g} ms or more late, {explained} of them "
            f"during a GC pause of {GC_NOTABLE_MS:g} ms or more; {len(full)} full (generation 2) "
            f"collections, {sum(full):.0f} ms in all; longest GC pause {longest:.0f} ms"
        )


async def measure(tmp: Path, params: Params) -> Outcome:
    import psutil

    from tests.e2e.harness import CHANNEL, GUILD, world
    from tests.e2e.ports import free_port
    from tests.providersim import JobScript

    outcome = Outcome(params, asked=params.jobs)
    asked = params.jobs
    probe_out = tmp / "probe.json"
    log_path = tmp / "bot.log"
    async with world(tmp, **settings_overrides(params)) as w:
        w.fake.ack_deadline = None  # measure late acks instead of refusing them
        # The bot's own cost, not Discord's per-channel limit (that is `status_load`).
        w.fake.rate_limits.enabled = False
        guild = w.fake.guilds[GUILD]
        members = [FIRST_MEMBER + i for i in range(params.jobs + 1)]
        for uid in members:
            guild.add_member(uid, name=f"load{uid - FIRST_MEMBER}")
        warmup_member, members = members[-1], members[:-1]
        if params.history:
            # Running from the submission: a job's age at the window is its time since its
            # command, and the learned poller times it from there.
            w.runcomfy.default_script = JobScript(run_seconds=RUN_FOREVER)
            w.wavespeed.default_script = JobScript(run_seconds=RUN_FOREVER)
            await asyncio.to_thread(seed_history, w.settings.database_url, params.history)
        else:
            w.runcomfy.default_script = JobScript(
                queue_seconds=RUNCOMFY_QUEUE, queue_positions=[3, 2, 1], run_seconds=RUN_FOREVER
            )
            w.wavespeed.default_script = JobScript(
                queue_seconds=WAVESPEED_QUEUE, run_seconds=RUN_FOREVER
            )
        metrics_listen = f"127.0.0.1:{free_port()}"
        parent_probe = LoopProbe()
        parent_probe_task = asyncio.get_running_loop().create_task(parent_probe.run())
        handle = await asyncio.to_thread(log_path.open, "wb")
        try:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.bot_load",
                "--bot-child",
                str(probe_out),
                env=child_env(w, params, metrics_listen=metrics_listen),
                cwd=tmp,
                stdout=handle,
                stderr=handle,
            )
        finally:
            handle.close()
        sampler = ProcessSampler(
            psutil.Process(child.pid),
            {port_of(w.runcomfy.base_url), port_of(w.wavespeed.base_url)},
        )
        sampler_task: asyncio.Task[None] | None = None
        try:
            await w.fake.wait_until_connected(timeout=60)
            await w.fake.wait_for(lambda: w.fake.command_id("video", GUILD) is not None, timeout=30)
            # Warm-up: one cheap command, answered, so the burst meets a ready bot.
            warm = await w.fake.invoke(
                "quota", [], guild_id=GUILD, channel_id=CHANNEL, user_id=warmup_member
            )
            await w.reply(warm, timeout=30)
            await asyncio.sleep(1.0)
            outcome.idle_rss = sampler.rss()
            sampler_task = asyncio.get_running_loop().create_task(sampler.run())

            print(f"  burst: {params.burst} simultaneous /video", flush=True)
            outcome.burst = await send_batch(w, members[: params.burst], 0, reply_timeout=120)
            outcome.burst_rss = sampler.rss()
            print(
                f"  burst answered in {outcome.burst.done - outcome.burst.dispatched:.1f} s; "
                f"sending {params.jobs - params.burst} more in batches of {params.batch}",
                flush=True,
            )
            starts = range(params.burst, params.jobs, params.batch)
            every = params.ramp / max(1, len(starts))
            ramp_start = time.monotonic()
            for number, start in enumerate(starts):
                await asyncio.sleep(max(0.0, ramp_start + number * every - time.monotonic()))
                if time.monotonic() - outcome.burst.dispatched > params.budget:
                    # Out of time: measure the jobs the bot took, under their own number.
                    params = dataclasses.replace(params, jobs=start)
                    outcome.params = params
                    print(f"  ramp budget spent: {start} of {asked} commands sent", flush=True)
                    break
                chunk = members[start : min(start + params.batch, params.jobs)]
                outcome.later.append(await send_batch(w, chunk, start, reply_timeout=120))
            outcome.ramp_seconds = time.monotonic() - outcome.burst.dispatched

            def at_providers() -> int:
                return len(w.runcomfy.jobs) + len(w.wavespeed.jobs)

            await w.fake.wait_for(lambda: at_providers() >= params.jobs, timeout=120)
            outcome.in_flight_at = time.monotonic() - outcome.burst.dispatched
            print(
                f"  {at_providers()} jobs at the providers after {outcome.in_flight_at:.1f} s; "
                f"settling {params.settle:g} s, then measuring {params.window:g} s",
                flush=True,
            )
            await asyncio.sleep(params.settle)

            requests_before = len(w.runcomfy.requests) + len(w.wavespeed.requests)
            cpu_before = sampler.cpu()
            parent_cpu_before = time.process_time()
            machine_before = machine_busy()
            outcome.window_start = time.monotonic()
            await asyncio.sleep(params.window / 2)
            outcome.scrape = await scrape_metrics(metrics_listen)
            await asyncio.sleep(max(0.0, outcome.window_start + params.window - time.monotonic()))
            outcome.window_end = time.monotonic()
            outcome.window_cpu = sampler.cpu() - cpu_before
            outcome.parent_window_cpu = time.process_time() - parent_cpu_before
            outcome.others_window_cpu = (
                machine_busy() - machine_before - outcome.window_cpu - outcome.parent_window_cpu
            )
            outcome.window_connections = sampler.connections_between(
                outcome.window_start, outcome.window_end
            )
            outcome.window_polls = (
                len(w.runcomfy.requests) + len(w.wavespeed.requests) - requests_before
            )
            outcome.window_rss = sampler.between(outcome.window_start, outcome.window_end)
            outcome.states_after = await asyncio.to_thread(job_states, w.settings.database_url)
            outcome.in_flight = sum(
                outcome.states_after.get(s, 0) for s in ("submitted", "running")
            )
            outcome.peak_rss = max(rss for _, rss in sampler.samples)

            print("  stopping the bot (SIGTERM)", flush=True)
            stop_started = time.monotonic()
            child.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                outcome.exit_code = await child.wait()
            outcome.stop_seconds = time.monotonic() - stop_started
        finally:
            for task in (sampler_task, parent_probe_task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if child.returncode is None:
                child.kill()
                await child.wait()
    outcome.parent_lag = parent_probe.samples
    with contextlib.suppress(OSError, ValueError):
        text = await asyncio.to_thread(probe_out.read_text, "utf-8")
        samples = json.loads(text)
        outcome.child_lag = [(float(t), float(late)) for t, late in samples["lag"]]
        outcome.child_gc = [(float(t), int(g), float(ms)) for t, g, ms in samples["gc"]]
    outcome.log_problems = await asyncio.to_thread(log_problems, log_path)
    return outcome


# ----- the report


def mib(value: float) -> str:
    return f"{value / MiB:.1f} MiB"


def report(o: Outcome, wall: float, quick: bool) -> Section:
    p = o.params
    section = Section()
    burst = o.burst
    assert burst is not None
    acks = Spread.of(burst.acks)
    section.add(
        f"Burst: {p.burst} simultaneous /video, ack p50",
        f"{acks.p50:.3f} s",
    )
    section.add(
        "Burst: ack p99 / max",
        f"{acks.p99:.3f} s / {acks.max:.3f} s",
        "≤ 3 s",
        acks.max <= ACK_TARGET,
    )
    section.add(
        "Burst: acks later than 3 s (or missing)",
        f"{burst.late} of {p.burst}",
        "0",
        burst.late == 0,
    )
    replies = Spread.of(list(burst.replies.seconds.values()))
    all_replied = len(burst.replies.seconds) == p.burst
    section.add(
        f"Burst: until all {p.burst} final ephemeral answers",
        f"{burst.done - burst.dispatched:.2f} s"
        + ("" if all_replied else f" ({p.burst - len(burst.replies.seconds)} never answered)"),
    )
    section.add("Burst: final answer per member", replies.s())
    section.add(
        "Burst: accepted (“on its way”)",
        f"{burst.accepted} of {p.burst}",
        f"{p.burst}",
        burst.accepted == p.burst,
    )
    burst_lag = o.lag(o.child_lag, burst.dispatched, burst.done)
    section.add("Burst: bot event-loop lag", burst_lag.ms())

    later_acks = Spread.of([a for b in o.later for a in b.acks])
    later_late = sum(b.late for b in o.later)
    later_count = sum(len(b.interactions) for b in o.later)
    later_accepted = sum(b.accepted for b in o.later)
    if o.later:
        section.add(
            f"Next {later_count} /video (batches of {p.batch}, {p.burst}+ jobs in flight): "
            "ack p99 / max",
            f"{later_acks.p99:.3f} s / {later_acks.max:.3f} s",
            "≤ 3 s",
            later_late == 0,
        )
        section.add(
            f"Next {later_count} /video: accepted",
            f"{later_accepted} of {later_count}",
            f"{later_count}",
            later_accepted == later_count,
        )
    section.add(
        "Jobs in flight (submitted/running) at the end of the window",
        f"{o.in_flight}",
        f"{p.jobs}",
        o.in_flight == p.jobs,
    )
    window_lag = o.lag(o.child_lag, o.window_start, o.window_end)
    section.add(
        f"Bot event-loop lag p99, {p.jobs} jobs in flight ({p.window:g} s)",
        f"{window_lag.p99:.1f} ms",
    )
    section.add(
        f"Bot event-loop lag, {p.jobs} jobs in flight: p50 / max",
        f"{window_lag.p50:.1f} ms / {window_lag.max:.0f} ms",
    )
    section.add("Bot RSS idle (ready, before any job)", mib(o.idle_rss))
    section.add(f"Bot RSS after the burst ({p.burst} jobs)", mib(o.burst_rss))
    window_max = max(o.window_rss, default=0)
    section.add(f"Bot RSS with {p.jobs} jobs in flight (max in window)", mib(window_max))
    growth = window_max - o.idle_rss
    section.add(
        f"Bot RSS growth for {p.jobs} jobs",
        f"{mib(growth)} ({growth / p.jobs / 1024:.0f} KiB per job)",
    )
    section.add(
        f"Bot CPU with {p.jobs} jobs in flight",
        f"{o.window_cpu / p.window * 100:.0f}% of one core",
    )
    rate = o.window_polls / p.window
    scheduled = p.jobs / POLL_INTERVAL
    section.add(
        f"Provider GETs/s with {p.jobs} jobs in flight",
        f"{rate:.0f} (the learned poller, {per_job(o):.2f} per job per second)"
        if p.history
        else f"{rate:.0f} (the cadence asks for ≈ {scheduled:.0f} once all run past the warm-up)",
    )
    most, seen = o.window_connections
    section.add(
        "Bot's TCP connections to the providers in the window: most open at once / distinct",
        f"{most} / {seen}",
    )
    section.add(
        f"Clean stop (SIGTERM) with {p.jobs} jobs in flight",
        f"{o.stop_seconds:.1f} s, exit code {o.exit_code}",
        "exit code 0",
        o.exit_code == 0,
    )
    section.add("Wall time", f"{wall:.1f} s")

    mode = " (quick mode)" if quick else ""
    section.note(
        f"Sizes{mode}: a burst of {p.burst} /video from {p.burst} members, then "
        f"{p.jobs - p.burst} more from other members in gathered batches of {p.batch} "
        f"(each batch waits for its answers), {p.jobs} jobs in flight in all, half RunComfy, "
        f"half WaveSpeed; the window starts {p.settle:g} s after the last job reached its "
        f"provider and lasts {p.window:g} s."
    )
    section.note(
        "The bot runs in a child process exactly as `python -m bot run` runs it (`bot.app.serve`, "
        "INFO logging to a file, settings from the environment, SQLite in a temp dir), plus one "
        f"probe task on its event loop: `asyncio.sleep({PROBE_SLEEP:g})` in a loop, lag = "
        "overshoot. RSS and CPU are the child's (psutil from the parent, every "
        f"{RSS_EVERY:g} s). The fake Discord and both provider simulators run in the parent "
        "process, on the other core."
    )
    from bot.core.settings import Settings

    ov = settings_overrides(p)
    limits = (
        f"status edits at most every 3 s per job, 60 s leases; max_concurrent_jobs "
        f"{ov['max_concurrent_jobs']}, max_jobs_per_member {ov['max_jobs_per_member']}, "
        f"quota_limit {ov['quota_limit']}, PROVIDER_MAX_CONNECTIONS default "
        f"({Settings.model_fields['provider_max_connections'].default} per provider), "
        "METRICS_LISTEN on. All status messages go to one channel, as on a busy server."
    )
    states = ", ".join(f"{k} {v}" for k, v in sorted(o.states_after.items()))
    if p.history:
        section.note(
            f"Settings: the learned poller (the default) with a history of {p.history} finished "
            "jobs per configuration in the database before the bot starts, running times drawn "
            f"log-normal around medians of {MEDIANS['runcomfy']:g} s (RunComfy) and "
            f"{MEDIANS['wavespeed']:g} s (WaveSpeed) for 5 s clips (1.8× for 10 s), sigma "
            f"{SPREAD:g}, as in `learned_poll`; {limits}"
        )
        section.note(
            "Provider jobs (simulators at 100 simulated s per real s) run from their submission "
            "and never finish during the run, so every job is still polled at the window: its "
            f"age is its time since its command. The {p.jobs - p.burst} commands after the "
            f"burst are spread over {p.ramp:g} s, so at the window the ages spread from "
            f"{p.settle:g} s to {o.window_end - o.burst.dispatched if o.burst else 0:.0f} s, "
            "across every phase of the learned schedule (sparse before the job can be done, "
            "dense around its likely end, backing off after). Conservative: a job past its "
            "likely end keeps being checked densely, where in production most would have "
            f"finished and been replaced by a young, sparsely checked one (states at the end "
            f"of the window: {states})."
        )
    else:
        section.note(
            "Settings: the default poll cadence in real time (first check after 1 s, every 5 s "
            "during the 20 s warm-up, then every 1.5 s; 3 s per queue position while queued "
            f"behind others; no history, so the learned poller keeps this cadence), {limits}"
        )
        section.note(
            "Provider jobs (simulators at 100 simulated s per real s) never finish during the "
            f"run: RunComfy queued {RUNCOMFY_QUEUE / 100:g} real s at positions 3, 2, 1, "
            f"WaveSpeed queued {WAVESPEED_QUEUE / 100:g} real s, then both running; a running "
            f"job past the warm-up is polled every 1.5 s (at the end of the window: {states})."
        )
    scrape = o.scrape
    if scrape is not None:
        section.note(
            f"/metrics scraped once mid-window: HTTP {scrape.status} in "
            f"{scrape.seconds * 1000:.0f} ms, {scrape.families} families and {scrape.samples} "
            "samples parsed by prometheus-client's text parser"
            + "".join(f"; {k} {v:.0f}" for k, v in scrape.values.items())
            + (f"; error {scrape.error}" if scrape.error else "")
            + "."
        )
    section.note(
        "Acks: `FakeInteraction.acknowledged_at` (dispatch of INTERACTION_CREATE to the first "
        "callback, timed by the fake), with the fake's 3 s ack deadline switched off "
        "(`ack_deadline = None`) so a late ack is measured rather than refused. Final answer: "
        "the deferred ephemeral message filled with its text (checked every "
        f"{REPLY_CHECK_EVERY * 1000:.0f} ms). The burst's {p.burst} dispatches went out within "
        f"{burst.dispatch_spread * 1000:.0f} ms."
    )
    ramp = o.lag(o.child_lag, burst.dispatched, o.window_start)
    section.note(
        f"Bot event-loop lag from the burst to the window (commands, submissions, queue and "
        f"status updates): {ramp.ms()}. In the window: "
        + o.gc_summary(o.window_start, o.window_end)
        + ". During the burst: "
        + o.gc_summary(burst.dispatched, burst.done)
        + "."
    )
    parent_burst = o.lag(o.parent_lag, burst.dispatched, burst.done)
    parent_window = o.lag(o.parent_lag, o.window_start, o.window_end)
    section.note(
        "The parent (fake Discord + simulators) for reference, as its own delays add to the "
        f"measured ack times: event-loop lag during the burst {parent_burst.ms()}; during the "
        f"window {parent_window.ms()}, CPU {o.parent_window_cpu / p.window * 100:.0f}% of one "
        f"core. Every other process on the machine used {o.others_window_cpu / p.window * 100:.0f}"
        f"% of one core during the window ({os.cpu_count() or '?'} cores in all): "
        "concurrent work elsewhere makes these figures vary between runs."
    )
    steady = o.states_after.get("running", 0) == p.jobs and p.settle >= 20.0
    if steady and rate < 0.8 * scheduled:
        section.note(
            f"The bot fell behind its poll cadence: {rate:.0f} GETs/s instead of ≈ "
            f"{scheduled:.0f}, with {o.window_cpu / p.window * 100:.0f}% of a core busy and up "
            f"to {most} connections open to the providers at once ({seen} distinct in "
            f"{p.window:g} s: connections are being opened and closed all the time)."
        )
    section.note(
        f"Bot RSS peak over the run {mib(o.peak_rss)}; window samples "
        f"{len(o.window_rss)}, min {mib(min(o.window_rss, default=0))}."
    )
    problems = batch_refusals(o)
    if problems:
        section.note("Commands not accepted: " + "; ".join(problems) + ".")
    if o.log_problems:
        section.note(
            f"{len(o.log_problems)} WARNING/ERROR lines in the bot's log, e.g.: "
            + " | ".join(line[:200] for line in o.log_problems[:3])
        )
    else:
        section.note("No WARNING or ERROR line in the bot's log.")
    return section


def batch_refusals(o: Outcome) -> list[str]:
    counts: Counter[str] = Counter()
    for batch in [b for b in (o.burst, *o.later) if b is not None]:
        counts.update(batch.refusals())
    return [f"{count}× {text}" for text, count in counts.items() if count]


def per_job(o: Outcome) -> float:
    return o.window_polls / o.params.window / max(1, o.params.jobs)


def side_by_side(section: Section, old: Outcome, new: Outcome) -> None:
    """The figures the issue names, the earlier case and the scaled one in one row each."""
    a, b = old.params, new.params

    def both(
        figure: str, first: str, second: str, target: str = "—", met: bool | None = None
    ) -> None:
        section.add(f"{figure}: {a.jobs} / {b.jobs} jobs", f"{first} / {second}", target, met)

    old_acks = Spread.of(old.burst.acks if old.burst else [])
    new_acks = Spread.of(new.burst.acks if new.burst else [])
    section.add(
        f"Burst ack p50: {a.burst} / {b.burst} simultaneous /video",
        f"{old_acks.p50:.3f} s / {new_acks.p50:.3f} s",
    )
    section.add(
        f"Burst ack p99: {a.burst} / {b.burst} simultaneous /video",
        f"{old_acks.p99:.3f} s / {new_acks.p99:.3f} s",
        f"< {SCALED_ACK_TARGET:g} s ({b.burst})",
        new_acks.p99 < SCALED_ACK_TARGET and new.burst is not None and new.burst.late == 0,
    )
    old_lag = old.lag(old.child_lag, old.window_start, old.window_end)
    new_lag = new.lag(new.child_lag, new.window_start, new.window_end)
    both("Bot event-loop lag p50 in the window", f"{old_lag.p50:.1f} ms", f"{new_lag.p50:.1f} ms")
    both(
        "Bot event-loop lag p99 in the window",
        f"{old_lag.p99:.1f} ms",
        f"{new_lag.p99:.1f} ms",
        f"< {LAG_TARGET:g} ms ({b.jobs})",
        new_lag.p99 < LAG_TARGET,
    )
    old_rss = max(old.window_rss, default=0)
    new_rss = max(new.window_rss, default=0)
    both(
        "Bot RSS in the window (max)",
        mib(old_rss),
        mib(new_rss),
        f"< {mib(RSS_TARGET)} ({b.jobs})",
        0 < new_rss < RSS_TARGET,
    )
    both(
        "Bot CPU in the window",
        f"{old.window_cpu / a.window * 100:.0f}%",
        f"{new.window_cpu / b.window * 100:.0f}% of one core",
    )
    both(
        "Status requests/s in the window",
        f"{old.window_polls / a.window:.0f}",
        f"{new.window_polls / b.window:.0f}",
    )
    both(
        "Status requests per job per second",
        f"{per_job(old):.3f} (today's cadence)",
        f"{per_job(new):.3f} (learned poller)",
    )
    both(
        "Bot CPU per status request",
        f"{old.window_cpu / max(1, old.window_polls) * 1000:.2f} ms",
        f"{new.window_cpu / max(1, new.window_polls) * 1000:.2f} ms",
    )
    both(
        "Jobs in flight at the end of the window",
        f"{old.in_flight}",
        f"{new.in_flight}"
        + (
            f" (the bot took {b.jobs} of {new.asked} in the ramp budget)"
            if new.asked > b.jobs
            else ""
        ),
        f"{new.asked}",
        new.in_flight == new.asked,
    )
    scrapes = [o.scrape for o in (old, new)]
    section.add(
        "/metrics scraped mid-window and parsed",
        " / ".join("yes" if s is not None and s.ok else "no" for s in scrapes),
        "yes",
        all(s is not None and s.ok for s in scrapes),
    )


async def measure_case(params: Params) -> tuple[Outcome, float]:
    print(
        f"  bot in a child process; {params.burst} simultaneous /video, then {params.jobs} jobs "
        f"in flight for {params.window:g} s"
        + (f" (learned poller, history {params.history})" if params.history else ""),
        flush=True,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reelbot-bench-load-") as directory:
        async with asyncio.timeout(params.guard):
            outcome = await measure(Path(directory), params)
    wall = time.perf_counter() - started
    window_lag = outcome.lag(outcome.child_lag, outcome.window_start, outcome.window_end)
    burst = outcome.burst
    assert burst is not None
    print(
        f"  burst acks {Spread.of(burst.acks).s()}; {params.jobs} jobs: loop lag "
        f"{window_lag.ms()}, RSS {mib(max(outcome.window_rss, default=0))}, "
        f"{outcome.window_polls / params.window:.0f} status requests/s, CPU "
        f"{outcome.window_cpu / params.window * 100:.0f}%",
        flush=True,
    )
    return outcome, wall


async def run(quick: bool) -> Section:
    """The earlier case (today's cadence), then the scaled one (the learned poller), each in
    its own child process, reported side by side and then in detail."""
    old, old_wall = await measure_case(QUICK if quick else FULL)
    new, new_wall = await measure_case(SCALED_QUICK if quick else SCALED)
    section = Section()
    side_by_side(section, old, new)
    detail = report(new, new_wall, quick)
    section.rows += detail.rows
    section.notes += detail.notes
    earlier = report(old, old_wall, quick)
    section.note(
        f"The {old.params.jobs}-job case in the side-by-side rows ran first, in its own child "
        "process, as this benchmark measured it before (details: "
        + "; ".join(f"{r.figure}: {r.measured}" for r in earlier.rows if "Burst" not in r.figure)
        + ")."
    )
    return section


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
