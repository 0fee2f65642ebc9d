"""Poll lag and request cost: how late we notice a finished job, and how many GETs it costs.

Three pollers run side by side, each against its own loopback `ProviderSim`, on the same seeded
job plan: ours (`wait_for_job` with the project's default cadence from settings), and two
fixed-interval pollers (1.5 s and 5 s). Time is compressed: every clock and sleep (the poll
cadence, the provider's retry backoff, the simulator) runs `scale` simulated seconds per real
second, and all figures are in simulated seconds.

Lag of a job = the simulator's `first_seen_terminal_at - completed_at`: from the moment the job
finished to the first status/result GET that reported it finished.

httpx + aiohttp cost about 1.5 ms of CPU per request in one process, so each provider runs in its
own child process (`python -m benchmarks.poll_lag --child FLAVOR`), simulators and clients
together, one per core; and jobs are submitted in `slots` back-to-back chains, which keeps the
number of running jobs, hence the request rate, flat instead of peaking.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import logging
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from benchmarks._report import Section, percentile
from bot.core.settings import load_settings
from providers import (
    Cancelled,
    CancelOutcome,
    Capabilities,
    Failed,
    FinalUpdate,
    JobUpdate,
    Mode,
    PollCadence,
    Provider,
    ProviderError,
    ResolvedOptions,
    RetryPolicy,
    StillRunning,
    Succeeded,
    VideoRequest,
    wait_for_job,
)
from providers.retry import Sleep
from providers.runcomfy import RunComfy
from providers.wavespeed import WaveSpeed
from tests.providersim import JobScript, ProviderSim
from tests.providersim._model import Flavor

NAME = "poll_lag"
TITLE = "Poll lag and status requests per job"

KEY = "bench-poll-key"
SEED = 20240611
REQUEST = VideoRequest(mode=Mode.TEXT, prompt="a benchmark clip", aspect_ratio="16:9", duration=5)
FLAVORS: tuple[Flavor, ...] = ("runcomfy", "wavespeed")
LABELS: dict[Flavor, str] = {"runcomfy": "RunComfy", "wavespeed": "WaveSpeed"}
OURS = "ours"
FIXED_FAST = "fixed 1.5 s"
FIXED_SLOW = "fixed 5 s"
POLLERS = (OURS, FIXED_FAST, FIXED_SLOW)
FIXED_INTERVALS = {FIXED_FAST: 1.5, FIXED_SLOW: 5.0}
TARGET_P50 = 1.0
CHAIN_GAP = 1.0  # simulated seconds between two jobs of one chain
PROGRESS_EVERY = 15.0  # real seconds between progress lines
LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=200)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Params:
    jobs: int
    """Jobs per poller per provider."""
    done_min: float
    done_max: float
    """Each job's completion time (queue + run), uniform in [done_min, done_max] simulated s."""
    queue_max: float
    """RunComfy jobs spend uniform [0, queue_max] of it queued, with falling positions."""
    slots: int
    """Jobs run in this many back-to-back chains (balanced by length), so about this many run at
    any time."""
    lead: float
    """Each chain starts at a uniform random moment in [0, lead] simulated seconds."""
    scale: float
    """Simulated seconds per real second."""

    @property
    def guard(self) -> float:
        """Real seconds after which the run is abandoned: well past its planned end."""
        per_slot = self.jobs / self.slots * (self.done_max + CHAIN_GAP) + self.lead
        return 1.5 * (per_slot + 120.0) / self.scale + 30.0


FULL = Params(
    jobs=120, done_min=30.0, done_max=300.0, queue_max=40.0, slots=40, lead=20.0, scale=5.0
)
QUICK = Params(
    jobs=30, done_min=30.0, done_max=120.0, queue_max=20.0, slots=30, lead=20.0, scale=6.0
)


# ----- the plan


@dataclass(frozen=True, slots=True)
class PlannedJob:
    start: float
    script: JobScript


def plan_jobs(flavor: Flavor, params: Params, rng: random.Random) -> list[PlannedJob]:
    """Seeded scripts, packed into `slots` chains (longest first onto the shortest chain)."""
    scripts = []
    for _ in range(params.jobs):
        total = rng.uniform(params.done_min, params.done_max)
        queue = 0.0
        positions: list[int] = []
        if flavor == "runcomfy":
            queue = min(rng.uniform(0.0, params.queue_max), total - 10.0)
            if queue >= 1.0:
                positions = list(range(rng.randint(1, 5), 0, -1))
        scripts.append(
            JobScript(queue_seconds=queue, queue_positions=positions, run_seconds=total - queue)
        )
    chains = [(rng.uniform(0.0, params.lead), slot) for slot in range(params.slots)]
    heapq.heapify(chains)
    plan = []
    for script in sorted(scripts, key=lambda s: s.terminal_after, reverse=True):
        free_at, slot = heapq.heappop(chains)
        plan.append(PlannedJob(start=free_at, script=script))
        heapq.heappush(chains, (free_at + script.terminal_after + CHAIN_GAP, slot))
    return sorted(plan, key=lambda job: job.start)


# ----- the pollers

Clock = Callable[[], float]
Poller = Callable[[Provider, str], Coroutine[Any, Any, FinalUpdate | StillRunning]]


async def fixed_poll(
    provider: Provider, job_id: str, *, interval: float, deadline: float, clock: Clock, sleep: Sleep
) -> FinalUpdate | StillRunning:
    """The naive poller: one `provider.poll` every `interval` seconds, whatever the state."""
    started = clock()
    last: JobUpdate | None = None
    while (elapsed := clock() - started) < deadline:
        await sleep(min(interval, deadline - elapsed))
        try:
            update = await provider.poll(job_id)
        except ProviderError as error:
            if not error.retryable:
                raise
            continue
        if update is not None:
            last = update
        if isinstance(update, Succeeded | Failed | Cancelled):
            return update
    return StillRunning(last=last, elapsed=clock() - started)


# ----- one provider, in a child process


@dataclass
class Lane:
    """One poller against its own simulator."""

    poller: str
    sim: ProviderSim
    provider: Provider
    poll: Poller
    job_ids: list[str] = field(default_factory=list)
    outcomes: list[FinalUpdate | StillRunning] = field(default_factory=list)
    scripts_ok: bool = True


@dataclass
class LaneResult:
    lags: list[float]
    requests: list[int]
    """GETs naming each job."""
    unseen: int
    not_succeeded: int
    scripts_ok: bool


@dataclass
class ChildResult:
    flavor: Flavor
    lanes: dict[str, LaneResult]
    wall: float
    cpu: float
    requests: int
    loop_late_ms: list[float]
    """p50, p99, max of the event loop's wake-up delay (real ms)."""
    poll_ms: list[float]
    """p50, p99, max real duration of one `provider.poll` (ms)."""
    retries: int
    """Retried GETs and failed checks logged by the providers."""
    retry_examples: list[str]
    cadence: dict[str, float]
    deadline: float


def job_id_in(path: str, ids: set[str]) -> str | None:
    for part in path.split("/"):
        if part in ids:
            return part
    return None


def lane_result(lane: Lane) -> LaneResult:
    ids = set(lane.job_ids)
    gets: Counter[str] = Counter()
    for request in lane.sim.requests:
        if request.method == "GET" and (job_id := job_id_in(request.path, ids)) is not None:
            gets[job_id] += 1
    lags = []
    unseen = 0
    for job_id in lane.job_ids:
        job = lane.sim.jobs[job_id]
        if job.first_seen_terminal_at is None:
            unseen += 1
        else:
            lags.append(job.first_seen_terminal_at - job.completed_at)
    return LaneResult(
        lags=lags,
        requests=[gets[j] for j in lane.job_ids],
        unseen=unseen,
        not_succeeded=sum(not isinstance(o, Succeeded) for o in lane.outcomes),
        scripts_ok=lane.scripts_ok,
    )


async def drive(lane: Lane, plan: list[PlannedJob], scale: float) -> None:
    """Submit the planned jobs on schedule (one at a time, so each takes its own script) and
    poll each one from its submission on."""
    t0 = time.monotonic()
    async with asyncio.TaskGroup() as group:
        tasks: list[asyncio.Task[FinalUpdate | StillRunning]] = []
        for planned in plan:
            delay = t0 + planned.start / scale - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lane.sim.script(planned.script)
            job_id = await lane.provider.submit(REQUEST)
            lane.scripts_ok &= lane.sim.jobs[job_id].script is planned.script
            lane.job_ids.append(job_id)
            tasks.append(group.create_task(lane.poll(lane.provider, job_id)))
    lane.outcomes = [task.result() for task in tasks]


class RetryCounter(logging.Handler):
    """Counts the retried calls and failed checks the providers log (none are expected)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.first) < 3:
            self.first.append(record.getMessage())


def timed(poll: Poller, latencies: list[float]) -> Poller:
    """`poll`, with the real duration of every `provider.poll` call recorded."""

    async def run(provider: Provider, job_id: str) -> FinalUpdate | StillRunning:
        return await poll(_Timed(provider, latencies), job_id)

    return run


class _Timed:
    """A `Provider` that times its inner provider's `poll` calls."""

    def __init__(self, inner: Provider, latencies: list[float]) -> None:
        self._inner = inner
        self._latencies = latencies
        self.name = inner.name

    @property
    def label(self) -> str:
        return self._inner.label

    def capabilities(self, mode: Mode) -> Capabilities:
        return self._inner.capabilities(mode)

    def resolve(self, request: VideoRequest) -> ResolvedOptions:
        return self._inner.resolve(request)

    async def submit(self, request: VideoRequest) -> str:
        return await self._inner.submit(request)

    async def poll(self, job_id: str) -> JobUpdate | None:
        started = time.perf_counter()
        try:
            return await self._inner.poll(job_id)
        finally:
            self._latencies.append((time.perf_counter() - started) * 1000.0)

    async def cancel(self, job_id: str) -> CancelOutcome:
        return await self._inner.cancel(job_id)


class LoopProbe:
    """How late the event loop wakes a 10 ms sleep: a saturation check."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []

    async def run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.late_ms.append((time.perf_counter() - before - 0.01) * 1000.0)


async def progress(label: str, lanes: list[Lane], total: int, started: float) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY)
        submitted = sum(len(lane.job_ids) for lane in lanes)
        seen = sum(
            1
            for lane in lanes
            for job in lane.sim.jobs.values()
            if job.first_seen_terminal_at is not None
        )
        requests = sum(len(lane.sim.requests) for lane in lanes)
        print(
            f"  [{label}] {time.perf_counter() - started:4.0f} s: {submitted}/{total} submitted, "
            f"{seen} seen finished, {requests} requests",
            file=sys.stderr,
            flush=True,
        )


async def run_provider(flavor: Flavor, params: Params) -> ChildResult:
    """All three pollers against one provider, concurrently, in this process."""
    settings = load_settings(_env_file=None)
    cadence: PollCadence = settings.cadence()
    deadline = settings.job_deadline_seconds
    scale = params.scale

    def clock() -> float:
        return time.monotonic() * scale

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / scale)

    async def ours(provider: Provider, job_id: str) -> FinalUpdate | StillRunning:
        return await wait_for_job(
            provider, job_id, cadence=cadence, deadline=deadline, clock=clock, sleep=sleep
        )

    def fixed(interval: float) -> Poller:
        async def poll(provider: Provider, job_id: str) -> FinalUpdate | StillRunning:
            return await fixed_poll(
                provider, job_id, interval=interval, deadline=deadline, clock=clock, sleep=sleep
            )

        return poll

    pollers: dict[str, Poller] = {
        OURS: ours,
        FIXED_FAST: fixed(FIXED_INTERVALS[FIXED_FAST]),
        FIXED_SLOW: fixed(FIXED_INTERVALS[FIXED_SLOW]),
    }
    plan = plan_jobs(flavor, params, random.Random(f"{SEED}-{flavor}"))
    lanes: list[Lane] = []
    latencies: list[float] = []
    retries = RetryCounter()
    for name in ("providers.retry", "providers.polling"):
        logging.getLogger(name).addHandler(retries)
        logging.getLogger(name).setLevel(logging.INFO)
    async with contextlib.AsyncExitStack() as stack:
        for poller in POLLERS:
            sim = await stack.enter_async_context(
                ProviderSim(flavor, api_key=KEY, time_scale=scale)
            )
            client = await stack.enter_async_context(
                httpx.AsyncClient(timeout=httpx.Timeout(15.0), limits=LIMITS)
            )
            client_type = RunComfy if flavor == "runcomfy" else WaveSpeed
            provider = client_type(
                client=client,
                api_key=SecretStr(KEY),
                base_url=sim.base_url,
                allow_loopback_urls=True,
                retry=RetryPolicy(),
                sleep=sleep,
            )
            lanes.append(Lane(poller, sim, provider, timed(pollers[poller], latencies)))

        probe = LoopProbe()
        started = time.perf_counter()
        cpu_started = time.process_time()
        probe_task = asyncio.create_task(probe.run())
        progress_task = asyncio.create_task(
            progress(LABELS[flavor], lanes, len(plan) * len(lanes), started)
        )
        try:
            async with asyncio.timeout(params.guard), asyncio.TaskGroup() as group:
                for lane in lanes:
                    group.create_task(drive(lane, plan, scale))
        finally:
            for task in (probe_task, progress_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        late = probe.late_ms or [0.0]
        return ChildResult(
            flavor=flavor,
            lanes={lane.poller: lane_result(lane) for lane in lanes},
            wall=wall,
            cpu=cpu,
            requests=sum(len(lane.sim.requests) for lane in lanes),
            loop_late_ms=[percentile(late, 50), percentile(late, 99), max(late)],
            poll_ms=[
                percentile(latencies, 50),
                percentile(latencies, 99),
                max(latencies, default=0.0),
            ],
            retries=retries.count,
            retry_examples=retries.first,
            cadence={k: float(v) for k, v in asdict(cadence).items()},
            deadline=deadline,
        )


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="internal: one provider's poll_lag run")
    parser.add_argument("--child", choices=FLAVORS, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    flavor: Flavor = args.child
    result = asyncio.run(run_provider(flavor, QUICK if args.quick else FULL))
    print(json.dumps(asdict(result)), flush=True)


def parse_child(text: str) -> ChildResult:
    raw = json.loads(text.strip().splitlines()[-1])
    raw["lanes"] = {name: LaneResult(**lane) for name, lane in raw["lanes"].items()}
    return ChildResult(**raw)


# ----- the parent: both providers at once, then the report


@dataclass(frozen=True, slots=True)
class Figures:
    p50: float
    p95: float
    max_lag: float
    requests_per_job: float

    @classmethod
    def of(cls, lane: LaneResult) -> Figures:
        return cls(
            p50=percentile(lane.lags, 50),
            p95=percentile(lane.lags, 95),
            max_lag=max(lane.lags, default=math.nan),
            requests_per_job=sum(lane.requests) / max(1, len(lane.requests)),
        )


async def run_children(quick: bool, guard: float) -> list[ChildResult]:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.poll_lag",
            "--child",
            flavor,
            *(["--quick"] if quick else []),
            cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        for flavor in FLAVORS
    ]
    try:
        async with asyncio.timeout(guard + 30.0):
            outputs = await asyncio.gather(*(p.communicate() for p in processes))
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    for flavor, process in zip(FLAVORS, processes, strict=True):
        if process.returncode != 0:
            raise RuntimeError(f"the {flavor} child process exited with {process.returncode}")
    return [parse_child(out.decode()) for out, _ in outputs]


def fmt_s(value: float) -> str:
    return f"{value:.2f} s"


async def run(quick: bool) -> Section:
    params = QUICK if quick else FULL
    print(
        f"  {params.jobs} jobs x {len(POLLERS)} pollers x {len(FLAVORS)} providers (one child "
        f"process per provider), completion {params.done_min:.0f}-{params.done_max:.0f} "
        f"simulated s, {params.slots} chains, time scale {params.scale:g}x",
        flush=True,
    )
    started = time.perf_counter()
    results = await run_children(quick, params.guard)
    wall = time.perf_counter() - started

    section = Section()
    problems: list[str] = []
    for result in results:
        label = LABELS[result.flavor]
        figures = {name: Figures.of(lane) for name, lane in result.lanes.items()}
        mine, fast = figures[OURS], figures[FIXED_FAST]
        ratio = mine.requests_per_job / fast.requests_per_job
        print(f"  {label}:")
        for poller in POLLERS:
            f = figures[poller]
            print(
                f"    {poller:12} p50 lag {f.p50:5.2f} s  p95 lag {f.p95:5.2f} s  "
                f"max {f.max_lag:5.2f} s  requests/job {f.requests_per_job:6.1f}"
            )
        print(f"    ours / fixed 1.5 s requests per job: {ratio:.2f}x", flush=True)
        section.add(
            f"{label} · ours: p50 lag",
            fmt_s(mine.p50),
            f"≤ {TARGET_P50:g} s",
            mine.p50 <= TARGET_P50,
        )
        section.add(f"{label} · ours: p95 lag", fmt_s(mine.p95))
        section.add(f"{label} · ours: requests per job", f"{mine.requests_per_job:.1f}")
        section.add(
            f"{label} · ours / fixed 1.5 s requests per job",
            f"{ratio:.2f}× ({mine.requests_per_job:.1f} vs {fast.requests_per_job:.1f})",
            "< 1.00×",
            ratio < 1.0,
        )
        for poller in (FIXED_FAST, FIXED_SLOW):
            f = figures[poller]
            section.add(f"{label} · {poller}: p50 / p95 lag", f"{fmt_s(f.p50)} / {fmt_s(f.p95)}")
            section.add(f"{label} · {poller}: requests per job", f"{f.requests_per_job:.1f}")
        for name, lane in result.lanes.items():
            if lane.unseen or lane.not_succeeded or not lane.scripts_ok:
                problems.append(
                    f"{label} {name}: {lane.unseen} never seen finished, "
                    f"{lane.not_succeeded} not succeeded, scripts as planned: {lane.scripts_ok}"
                )
    if problems:
        section.add("every job polled to its end", "; ".join(problems), "yes", met=False)
    section.add("Wall time (both providers at once)", f"{wall:.1f} s")

    jobs = params.jobs
    quick_note = " (quick mode: a shorter range than the full run's 30–300 s)" if quick else ""
    section.note(
        f"{jobs} jobs per poller per provider ({jobs * len(POLLERS) * len(FLAVORS)} in all). "
        f"Completion times uniform {params.done_min:.0f}–{params.done_max:.0f} simulated s"
        f"{quick_note}; RunComfy jobs spend uniform 0–{params.queue_max:.0f} s of it queued, "
        "with positions counting down from 1–5 to 1; WaveSpeed jobs are never queued. "
        f"Seeded RNG ({SEED}); the same plan for the three pollers of a provider."
    )
    section.note(
        f"Jobs are submitted in {params.slots} back-to-back chains per poller (longest first "
        f"onto the shortest chain, {CHAIN_GAP:g} s apart, chains starting within "
        f"{params.lead:g} s), so about {params.slots} jobs per poller run at any time and the "
        "request rate stays flat. Each poller has its own ProviderSim and httpx client; the "
        "three pollers of a provider run concurrently in one child process (simulators "
        "included), the two providers' processes at the same time, one per core."
    )
    section.note(
        f"Time scale {params.scale:g} simulated s per real s: `clock = monotonic() * "
        f"{params.scale:g}` and `sleep(s) = asyncio.sleep(s / {params.scale:g})` for "
        "wait_for_job, the fixed pollers and the providers' retry backoff; the simulators run "
        "at the same scale. Lags, intervals and the cadence are in simulated seconds."
    )
    section.note(
        "Lag = the simulator's `first_seen_terminal_at - completed_at`. Requests per job = "
        "every GET naming the job in `sim.requests` (RunComfy: status GETs, plus the one result "
        "GET at the end; WaveSpeed: result GETs)."
    )
    c = results[0].cadence
    section.note(
        "Ours: `wait_for_job` with `load_settings(_env_file=None).cadence()`: "
        + ", ".join(f"{k} {v:g}" for k, v in c.items())
        + f"; deadline {results[0].deadline:g} s."
    )
    cadence = PollCadence(**c)
    moments = sorted(
        {cadence.warmup, min(cadence.long_job_after, params.done_max), params.done_max}
    )
    steps = [(t, cadence.next_delay(elapsed=t, checks=1, last=None)) for t in moments]
    text = "Our check interval for a running job: " + ", ".join(
        f"{delay:.2f} s at {t:g} s" for t, delay in steps
    )
    if steps[-1][1] > cadence.interval:
        text += (
            "; a finished job is seen about half an interval late on average, so the jobs "
            "finishing after long_job_after, checked less often, raise our lag above the fixed "
            "1.5 s poller's"
        )
    section.note(text + ".")
    section.note(
        "Fixed pollers: a plain loop (sleep X, `provider.poll`, stop at a final update) with the "
        "same clock and sleep, not a PollCadence: with `queue_seconds_per_position=0`, "
        "`PollCadence.next_delay` returns 0 s while a RunComfy job is queued at position > 1 "
        "(it would busy-poll)."
    )
    for result in results:
        late, poll = result.loop_late_ms, result.poll_ms
        retried = f"{result.retries} retried GETs or failed checks"
        if result.retry_examples:
            retried += " (e.g. " + "; ".join(result.retry_examples) + ")"
        load = (
            f"{result.requests} requests in {result.wall:.1f} s "
            f"({result.requests / result.wall:.0f}/s), CPU {result.cpu / result.wall:.2f} of one "
            f"core; one provider.poll took p50 {poll[0]:.1f} ms, p99 {poll[1]:.1f} ms, max "
            f"{poll[2]:.0f} ms; event-loop wake-up delay p50 {late[0]:.1f} ms, p99 "
            f"{late[1]:.1f} ms, max {late[2]:.0f} ms; {retried}"
        )
        section.note(
            f"Load, {LABELS[result.flavor]} process (real time; × {params.scale:g} in simulated "
            f"time): {load}."
        )
        print(f"  {LABELS[result.flavor]} process: {load}", flush=True)
    return section


if __name__ == "__main__":
    child_main(sys.argv[1:])
