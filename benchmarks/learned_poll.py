"""The learned poller against today's cadence and fixed 1.5 s and 5 s pollers.

Each provider's jobs draw their times from seeded log-normal distributions per configuration
(`tests.providersim.GenerationTimes`: a median per mode, duration and resolution, sigma 0.2 of
the logarithm, about 20 %; RunComfy jobs also queue, with positions counting down). Every
poller waits for the same jobs (the same seed), each against its own `ProviderSim` over real
HTTP, with the real provider client and `wait_for_job`. The learned poller first runs a history
of jobs per configuration, recorded in a SQLite database through the bot's own hooks
(`bot.core.jobs.learning`), then the measured jobs, still learning.

The clock is virtual: each lane's poller sleeps by advancing its simulator's clock, so a check
lands exactly when the poller asks for it and lags are exact, not blurred by the machine's load.
A lane therefore waits for one job at a time; the ten lanes (five pollers, two providers) run
concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from benchmarks._report import Section, percentile
from benchmarks.poll_lag import fixed_poll
from bot.core.db import Database
from bot.core.jobs import learning
from bot.core.jobs.models import Job, JobState
from bot.core.settings import load_settings
from providers import (
    FinalUpdate,
    Mode,
    PollCadence,
    Provider,
    StillRunning,
    Succeeded,
    VideoRequest,
    wait_for_job,
)
from providers.learned_polling import LearnedSchedule
from providers.polling import Cadence
from providers.retry import RetryPolicy
from providers.runcomfy import RunComfy
from providers.wavespeed import WaveSpeed
from tests.providersim import ConfigKey, GenerationTimes, ProviderSim, SimJob
from tests.providersim._model import Flavor

NAME = "learned_poll"
TITLE = "Learned poller: lag and status requests per job"

KEY = "bench-learned-key"
SEED = 20261130
FROZEN = 1e-9
SPREAD = 0.2
QUEUE_MEDIAN = 8.0  # RunComfy only
# Medians (s) per configuration: what each provider can make in text mode here.
MEDIANS: dict[Flavor, dict[ConfigKey, float]] = {
    "runcomfy": {("text", 5, "1080P"): 55.0, ("text", 10, "1080P"): 100.0},
    "wavespeed": {("text", 5, "1080P"): 70.0},
}
LABELS: dict[Flavor, str] = {"runcomfy": "RunComfy", "wavespeed": "WaveSpeed"}
LEARNED = "learned"
THRIFTY = "learned, thrifty"
TODAY = "today's cadence"
FIXED_FAST = "fixed 1.5 s"
FIXED_SLOW = "fixed 5 s"
POLLERS = (LEARNED, THRIFTY, TODAY, FIXED_FAST, FIXED_SLOW)
LEARNERS = (LEARNED, THRIFTY)
# The same learned poller set for fewer requests rather than least lag (POLL_DENSE_INTERVAL and
# POLL_EDGE_INTERVAL 3 s, POLL_LEARN_LOW_QUANTILE 0.05): against the fixed 5 s poller.
THRIFTY_SETTINGS = {"dense_interval": 3.0, "edge_interval": 3.0, "low_quantile": 0.05}
TARGET_P50, TARGET_P95, TARGET_RATIO = 0.5, 1.5, 0.5


@dataclass(frozen=True, slots=True)
class Params:
    history: int  # jobs per configuration before the measured ones (learned poller only)
    jobs: int  # measured jobs per poller per provider


FULL = Params(history=50, jobs=200)
QUICK = Params(history=20, jobs=50)


def request_for(key: ConfigKey) -> VideoRequest:
    mode, duration, resolution = key
    return VideoRequest(
        mode=Mode(mode),
        prompt="a benchmark clip",
        aspect_ratio="16:9",
        duration=5 if duration == 5 else 10,
        resolution="1080P" if resolution == "1080P" else "720P",
    )


@dataclass
class Lane:
    flavor: Flavor
    poller: str
    sim: ProviderSim
    provider: Provider
    measured: list[SimJob] = field(default_factory=list)
    failures: int = 0

    async def sleep(self, seconds: float) -> None:
        self.sim.advance(seconds)
        await asyncio.sleep(0)


Wait = Callable[[Lane, str, Job], Awaitable[FinalUpdate | StillRunning]]


def job_row(lane: Lane, key: ConfigKey) -> Job:
    mode, duration, resolution = key
    return Job(
        channel_id=1,
        user_id=1,
        mode=mode,
        provider=lane.flavor,
        prompt="a benchmark clip",
        duration=duration,
        resolution=resolution,
        seed=-1,
        cost=1,
        upload_limit=10_000_000,
        state=JobState.SUBMITTED,
        submitted_at=lane.sim.now(),
    )


async def run_lane(lane: Lane, *, params: Params, wait: Wait, learn_first: bool) -> None:
    keys = list(MEDIANS[lane.flavor])
    if learn_first:
        lane.sim.generation = GenerationTimes(
            MEDIANS[lane.flavor], spread=SPREAD, queue_median=QUEUE_MEDIAN, seed=SEED + 1
        )
        for number in range(params.history * len(keys)):
            await one_job(lane, keys[number % len(keys)], wait, measured=False)
    lane.sim.generation = GenerationTimes(
        MEDIANS[lane.flavor], spread=SPREAD, queue_median=QUEUE_MEDIAN, seed=SEED
    )
    for number in range(params.jobs):
        await one_job(lane, keys[number % len(keys)], wait, measured=True)


async def one_job(lane: Lane, key: ConfigKey, wait: Wait, *, measured: bool) -> None:
    job_id = await lane.provider.submit(request_for(key))
    outcome = await wait(lane, job_id, job_row(lane, key))
    if not isinstance(outcome, Succeeded):
        lane.failures += 1
    if measured:
        lane.measured.append(lane.sim.jobs[job_id])


def learned_wait(
    db: Database, schedule: LearnedSchedule, cadence: PollCadence, deadline: float
) -> Wait:
    async def wait(lane: Lane, job_id: str, row: Job) -> FinalUpdate | StillRunning:
        chosen: Cadence = await learning.cadence_for(
            db=db, job=row, fallback=cadence, schedule=schedule, elapsed=0.0
        )
        outcome = await wait_for_job(
            lane.provider,
            job_id,
            cadence=chosen,
            deadline=deadline,
            clock=lane.sim.now,
            sleep=lane.sleep,
        )
        if isinstance(outcome, Succeeded):
            await learning.record_finished(
                db=db, job=row, cadence=chosen, outcome=outcome, now=lane.sim.now()
            )
        return outcome

    return wait


def today_wait(cadence: PollCadence, deadline: float) -> Wait:
    async def wait(lane: Lane, job_id: str, row: Job) -> FinalUpdate | StillRunning:
        del row
        return await wait_for_job(
            lane.provider,
            job_id,
            cadence=cadence,
            deadline=deadline,
            clock=lane.sim.now,
            sleep=lane.sleep,
        )

    return wait


def fixed_wait(interval: float, deadline: float) -> Wait:
    async def wait(lane: Lane, job_id: str, row: Job) -> FinalUpdate | StillRunning:
        del row
        return await fixed_poll(
            lane.provider,
            job_id,
            interval=interval,
            deadline=deadline,
            clock=lane.sim.now,
            sleep=lane.sleep,
        )

    return wait


@dataclass(frozen=True, slots=True)
class Figures:
    p50: float
    p95: float
    requests_per_job: float

    @classmethod
    def of(cls, jobs: list[SimJob]) -> Figures:
        lags = [
            (j.first_seen_terminal_at - j.completed_at)
            for j in jobs
            if j.first_seen_terminal_at is not None
        ]
        return cls(
            p50=percentile(lags, 50),
            p95=percentile(lags, 95),
            requests_per_job=statistics.fmean(j.polls for j in jobs),
        )


async def run(quick: bool) -> Section:
    params = QUICK if quick else FULL
    settings = load_settings(_env_file=None)
    cadence = settings.cadence()
    schedule = settings.learned_schedule() or LearnedSchedule()
    thrifty = dataclasses.replace(schedule, **THRIFTY_SETTINGS)  # type: ignore[arg-type]
    deadline = settings.job_deadline_seconds
    print(
        f"  {params.jobs} measured jobs per poller per provider, after a history of "
        f"{params.history} per configuration (learned poller)",
        flush=True,
    )
    started = time.perf_counter()
    lanes: list[Lane] = []
    with tempfile.TemporaryDirectory() as scratch:
        # One history per learned lane: each learns from its own checks.
        db = await asyncio.to_thread(Database.connect, f"sqlite:///{Path(scratch) / 'timings.db'}")
        db_thrifty = await asyncio.to_thread(
            Database.connect, f"sqlite:///{Path(scratch) / 'thrifty.db'}"
        )
        try:
            async with contextlib.AsyncExitStack() as stack, asyncio.TaskGroup() as group:
                client = await stack.enter_async_context(
                    httpx.AsyncClient(
                        timeout=httpx.Timeout(15.0),
                        limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
                    )
                )
                for flavor in MEDIANS:
                    for poller in POLLERS:
                        sim = await stack.enter_async_context(
                            ProviderSim(flavor, api_key=KEY, time_scale=FROZEN)
                        )
                        client_type = RunComfy if flavor == "runcomfy" else WaveSpeed
                        lane = Lane(
                            flavor,
                            poller,
                            sim,
                            client_type(
                                client=client,
                                api_key=SecretStr(KEY),
                                base_url=sim.base_url,
                                allow_loopback_urls=True,
                                retry=RetryPolicy(),
                            ),
                        )
                        wait = {
                            LEARNED: learned_wait(db, schedule, cadence, deadline),
                            THRIFTY: learned_wait(db_thrifty, thrifty, cadence, deadline),
                            TODAY: today_wait(cadence, deadline),
                            FIXED_FAST: fixed_wait(1.5, deadline),
                            FIXED_SLOW: fixed_wait(5.0, deadline),
                        }[poller]
                        lanes.append(lane)
                        group.create_task(
                            run_lane(
                                lane,
                                params=params,
                                wait=wait,
                                learn_first=poller in LEARNERS,
                            )
                        )
        finally:
            db.close()
            db_thrifty.close()
    wall = time.perf_counter() - started
    return report(lanes, params, schedule, wall)


def report(lanes: list[Lane], params: Params, schedule: LearnedSchedule, wall: float) -> Section:
    section = Section()
    for flavor in MEDIANS:
        label = LABELS[flavor]
        figures = {
            lane.poller: Figures.of(lane.measured) for lane in lanes if lane.flavor == flavor
        }
        mine, fast = figures[LEARNED], figures[FIXED_FAST]
        ratio = mine.requests_per_job / fast.requests_per_job
        print(f"  {label}:")
        for poller in POLLERS:
            f = figures[poller]
            print(
                f"    {poller:16} p50 lag {f.p50:5.2f} s  p95 lag {f.p95:5.2f} s  "
                f"requests/job {f.requests_per_job:5.1f}  "
                f"({f.requests_per_job / fast.requests_per_job:.2f}x fixed 1.5 s)",
                flush=True,
            )
        section.add(
            f"{label} · learned: p50 lag", f"{mine.p50:.2f} s", "≤ 0.5 s", mine.p50 <= TARGET_P50
        )
        section.add(
            f"{label} · learned: p95 lag", f"{mine.p95:.2f} s", "≤ 1.5 s", mine.p95 <= TARGET_P95
        )
        section.add(
            f"{label} · learned / fixed 1.5 s requests per job",
            f"{ratio:.2f}× ({mine.requests_per_job:.1f} vs {fast.requests_per_job:.1f})",
            "≤ 0.50×",
            ratio <= TARGET_RATIO,
        )
        slow, thrift = figures[FIXED_SLOW], figures[THRIFTY]
        section.add(
            f"{label} · learned, thrifty vs fixed 5 s: p50 / p95 lag, requests per job",
            f"{thrift.p50:.2f} s / {thrift.p95:.2f} s, {thrift.requests_per_job:.1f} vs "
            f"{slow.p50:.2f} s / {slow.p95:.2f} s, {slow.requests_per_job:.1f}",
            "all three lower",
            thrift.p50 < slow.p50
            and thrift.p95 < slow.p95
            and thrift.requests_per_job < slow.requests_per_job,
        )
        for poller in (TODAY, FIXED_FAST, FIXED_SLOW):
            f = figures[poller]
            section.add(
                f"{label} · {poller}: p50 / p95 lag, requests per job",
                f"{f.p50:.2f} s / {f.p95:.2f} s, {f.requests_per_job:.1f} "
                f"({f.requests_per_job / fast.requests_per_job:.2f}×)",
            )
    failures = sum(lane.failures for lane in lanes)
    if failures:
        section.add("every job succeeded", f"{failures} did not", "yes", met=False)
    section.add("Wall time (10 lanes at once)", f"{wall:.1f} s")
    medians = "; ".join(
        f"{LABELS[f]}: " + ", ".join(f"{m} {d} s {r} median {v:g} s" for (m, d, r), v in c.items())
        for f, c in MEDIANS.items()
    )
    section.note(
        f"{params.jobs} measured jobs per poller per provider, configurations in turn; the "
        f"learned poller first ran {params.history} jobs per configuration as its history. "
        f"Running times log-normal, sigma {SPREAD} of the logarithm, per configuration "
        f"({medians}); "
        f"RunComfy jobs queue a log-normal {QUEUE_MEDIAN:g} s median (sigma 0.5) with positions "
        f"counting down from 1–4. Seeded ({SEED}): the same measured jobs for every poller."
    )
    section.note(
        "Virtual clock: every poller sleeps by advancing its own simulator's clock, so checks "
        "land exactly when asked and lags are exact; one job at a time per lane, the ten "
        "lanes (5 pollers x 2 providers) concurrently, each with its own ProviderSim over HTTP."
    )
    section.note(
        "Lag = `first_seen_terminal_at - completed_at` in the simulator; requests per job = the "
        "status/result GETs it answered for the job (RunComfy: status GETs plus one result GET)."
    )
    section.note(
        "Learned poller settings (defaults): "
        + ", ".join(f"{k} {getattr(schedule, k):g}" for k in schedule.__dataclass_fields__)
        + ". Thrifty: the same with "
        + ", ".join(f"{k} {v:g}" for k, v in THRIFTY_SETTINGS.items())
        + ". Today's cadence: the POLL_* defaults. Fixed pollers as in `poll_lag`."
    )
    return section
