"""The learned poller on the provider simulator, with its history in a real database.

Every wait runs the real provider client over HTTP against a `ProviderSim` whose jobs draw
log-normal generation times per configuration. The simulator's clock is the poller's clock:
the poller's sleeps advance it (`time_scale` is negligible), so each check lands exactly when
the schedule says, and lags and request counts are exact."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import Session, select

from bot.core.db import Database
from bot.core.jobs import learning, timings
from bot.core.jobs.models import Job, JobState
from providers import (
    Mode,
    PollCadence,
    Provider,
    StillRunning,
    Succeeded,
    VideoRequest,
    wait_for_job,
)
from providers.learned_polling import LearnedCadence, LearnedSchedule, learned_delay
from providers.polling import Cadence
from providers.retry import RetryPolicy
from providers.runcomfy import RunComfy
from providers.wavespeed import WaveSpeed
from tests.providersim import GenerationTimes, JobScript, ProviderSim, SimJob
from tests.testdb import database_url

KEY = "sim-learned-poller-key"
FROZEN = 1e-9  # simulated seconds per real second: only the poller's sleeps move the clock
MEDIAN = 60.0
REQUEST = VideoRequest(mode=Mode.TEXT, prompt="a clip", aspect_ratio="16:9", duration=5)
SCHEDULE = LearnedSchedule()
TODAY = PollCadence()
DEADLINE = 1800.0


@dataclass
class Rig:
    sim: ProviderSim
    provider: Provider
    db: Database

    async def sleep(self, seconds: float) -> None:
        self.sim.advance(seconds)
        await asyncio.sleep(0)

    def job_row(self, submitted_at: float) -> Job:
        return Job(
            channel_id=1,
            user_id=1,
            mode="text",
            provider=self.provider.name.value,
            prompt="a clip",
            duration=5,
            resolution="1080P",
            seed=-1,
            cost=1,
            upload_limit=10_000_000,
            state=JobState.SUBMITTED,
            submitted_at=submitted_at,
        )

    async def run(
        self, *, learn: bool, deadline: float = DEADLINE, schedule: LearnedSchedule = SCHEDULE
    ) -> tuple[SimJob, Cadence, object]:
        fallback = PollCadence(max_interval=schedule.max_interval)  # one bound, as in settings
        """Submit one job and wait for it: with the learned cadence (history read from and
        recorded to the database) or today's cadence."""
        job_id = await self.provider.submit(REQUEST)
        row = self.job_row(submitted_at=self.sim.now())
        cadence: Cadence = fallback
        if learn:
            cadence = await learning.cadence_for(
                db=self.db, job=row, fallback=fallback, schedule=schedule, elapsed=0.0
            )
        outcome = await wait_for_job(
            self.provider,
            job_id,
            cadence=cadence,
            deadline=deadline,
            clock=self.sim.now,
            sleep=self.sleep,
        )
        if isinstance(outcome, Succeeded):
            await learning.record_finished(
                db=self.db, job=row, cadence=cadence, outcome=outcome, now=self.sim.now()
            )
        return self.sim.jobs[job_id], cadence, outcome

    def check_times(self, job: SimJob) -> list[float]:
        """When the provider got each status check for `job`, from its submission (RunComfy's
        status GETs; its one result GET follows the last at once. WaveSpeed's result GETs)."""
        kind = "status" if self.sim.flavor == "runcomfy" else "result"
        return [
            r.time - job.submitted_at
            for r in self.sim.requests
            if r.method == "GET" and r.kind == kind and job.id in r.path
        ]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(database_url(tmp_path / "timings.db"))
    yield database
    database.close()


@pytest.fixture(params=["wavespeed", "runcomfy"])
async def rig(request: pytest.FixtureRequest, db: Database) -> AsyncIterator[Rig]:
    flavor = request.param
    async with (
        ProviderSim(flavor, api_key=KEY, time_scale=FROZEN) as sim,
        httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client,
    ):
        client_type = WaveSpeed if flavor == "wavespeed" else RunComfy
        provider = client_type(
            client=client,
            api_key=SecretStr(KEY),
            base_url=sim.base_url,
            allow_loopback_urls=True,
            retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.01),
        )
        yield Rig(sim=sim, provider=provider, db=db)


def times(seed: int) -> GenerationTimes:
    # RunComfy reports queue positions; its jobs wait a few seconds before they run.
    return GenerationTimes({("text", 5, "1080P"): MEDIAN}, spread=0.2, queue_median=6.0, seed=seed)


async def test_with_history_jobs_are_noticed_within_the_dense_interval_with_fewer_checks(
    rig: Rig,
) -> None:
    rig.sim.generation = times(seed=1)
    for _ in range(30):  # the history: the first min_samples of them on today's cadence
        await rig.run(learn=True)

    rig.sim.generation = times(seed=2)
    learned = [await rig.run(learn=True) for _ in range(40)]
    rig.sim.generation = times(seed=2)  # the very same jobs again, on today's cadence
    fixed = [await rig.run(learn=False) for _ in range(40)]

    dense_lags = []
    for job, cadence, outcome in learned:
        assert isinstance(outcome, Succeeded) and isinstance(cadence, LearnedCadence)
        assert cadence.fit is not None and cadence.running_since is not None
        assert job.first_seen_terminal_at is not None
        lag = job.first_seen_terminal_at - job.completed_at
        ran = job.completed_at - job.submitted_at - cadence.running_since
        low, dense_from, high = (
            cadence.fit.quantile(q)
            for q in (SCHEDULE.low_quantile, SCHEDULE.dense_quantile, SCHEDULE.high_quantile)
        )
        if dense_from + SCHEDULE.edge_interval <= ran <= high:
            # Late in the band, where the jobs left are about to finish: within one dense
            # interval.
            assert lag <= SCHEDULE.dense_interval + 1e-6, (lag, ran)
            dense_lags.append(lag)
        elif low <= ran <= high:
            assert lag <= SCHEDULE.edge_interval + 1e-6, (lag, ran)
    assert len(dense_lags) >= 3  # the dense part of the band was reached and checked
    # Lag quantiles over many jobs (half within the dense interval) are the benchmark's
    # (`learned_poll`): 40 jobs are too few to pin a median to a tenth of a second.

    learned_checks = sum(job.polls for job, _, _ in learned)
    fixed_checks = sum(job.polls for job, _, _ in fixed)
    assert learned_checks < 0.85 * fixed_checks, (learned_checks, fixed_checks)


async def test_without_history_the_checks_are_todays_cadence_exactly(rig: Rig) -> None:
    script = JobScript(queue_seconds=12.0, queue_positions=[3, 2, 1], run_seconds=70.0)
    rig.sim.script(script)
    learned, cadence, _ = await rig.run(learn=True)
    assert isinstance(cadence, LearnedCadence) and cadence.fit is None
    rig.sim.script(script)
    today, _, _ = await rig.run(learn=False)

    learned_times, today_times = rig.check_times(learned), rig.check_times(today)
    assert len(learned_times) == len(today_times) > 10
    assert learned_times == pytest.approx(today_times, abs=1e-6)


async def test_learned_intervals_stay_within_bounds_and_a_slow_job_is_still_noticed(
    rig: Rig,
) -> None:
    schedule = LearnedSchedule(min_interval=0.6, dense_interval=0.8, max_interval=12.0)
    rig.sim.generation = times(seed=3)
    for _ in range(12):
        await rig.run(learn=True, schedule=schedule)
    rig.sim.script(JobScript(run_seconds=6 * MEDIAN))  # far past the high quantile
    job, cadence, outcome = await rig.run(learn=True, schedule=schedule)

    assert isinstance(outcome, Succeeded) and isinstance(cadence, LearnedCadence)
    assert cadence.fit is not None
    checks = rig.check_times(job)
    gaps = [b - a for a, b in itertools.pairwise(checks)]
    assert checks[0] == pytest.approx(TODAY.first_delay)
    assert all(schedule.min_interval - 1e-6 <= g <= schedule.max_interval + 1e-6 for g in gaps)
    assert max(gaps) == pytest.approx(schedule.max_interval)  # it backed off to the bound
    assert job.first_seen_terminal_at is not None
    assert job.first_seen_terminal_at - job.completed_at <= schedule.max_interval
    # The run took far longer than any before it: recorded, it widens the next fit.
    assert learned_delay(schedule, cadence.fit, 2 * MEDIAN) > schedule.edge_interval


async def test_the_deadline_still_ends_the_wait_as_unknown_never_failed(rig: Rig) -> None:
    rig.sim.generation = times(seed=4)
    for _ in range(12):
        await rig.run(learn=True)
    rig.sim.script(JobScript(run_seconds=1e6))
    job, cadence, outcome = await rig.run(learn=True, deadline=600.0)

    assert isinstance(cadence, LearnedCadence) and cadence.fit is not None
    assert isinstance(outcome, StillRunning)
    assert outcome.elapsed == pytest.approx(600.0)
    assert max(rig.check_times(job)) <= 600.0 + 1e-6
    async with asyncio.timeout(5):
        count = await rig.db.run(
            lambda s: len(
                timings.run_times(session=s, key=learning.timing_key(rig.job_row(0)), limit=99)
            )
        )
    assert count == 12  # the unfinished job taught nothing


def record_one(session: Session, *, timing: timings.JobTiming) -> None:
    timings.record(session=session, timing=timing, keep=5)


async def test_the_history_survives_a_restart_and_is_bounded(tmp_path: Path) -> None:
    url = database_url(tmp_path / "restart.db")
    key = timings.TimingKey(provider="wavespeed", mode="text", duration=5, resolution="1080P")
    other = timings.TimingKey(provider="runcomfy", mode="image", duration=10, resolution="720P")
    first = Database.connect(url)
    try:
        for n in range(8):
            for k in (key, other):
                row = timings.JobTiming(
                    job_id=f"job{n}{k.provider}",
                    provider=k.provider,
                    mode=k.mode,
                    duration=k.duration,
                    resolution=k.resolution,
                    submitted_at=1000.0 + n,
                    completed_at=1060.0 + n,
                    inference_seconds=55.0 + n,
                    run_seconds=60.0 + n,
                )
                await first.run(partial(record_one, timing=row))
    finally:
        first.close()

    second = Database.connect(url)  # a new process on the same file
    try:
        kept = await second.run(lambda s: timings.run_times(session=s, key=key, limit=100))
        others = await second.run(lambda s: timings.run_times(session=s, key=other, limit=100))
        rows = await second.run(lambda s: s.exec(select(timings.JobTiming)).all())
    finally:
        second.close()
    assert kept == [67.0, 66.0, 65.0, 64.0, 63.0]  # the newest five, newest first
    assert others == kept  # each configuration keeps its own five
    assert {r.inference_seconds for r in rows if r.provider == "wavespeed"} == {
        62.0,
        61.0,
        60.0,
        59.0,
        58.0,
    }


async def test_a_resumed_wait_is_not_learned_from(rig: Rig) -> None:
    rig.sim.script(JobScript(run_seconds=50.0))
    job_id = await rig.provider.submit(REQUEST)
    row = rig.job_row(submitted_at=rig.sim.now())
    rig.sim.advance(30.0)  # the process restarted meanwhile
    cadence = await learning.cadence_for(
        db=rig.db, job=row, fallback=TODAY, schedule=SCHEDULE, elapsed=30.0
    )
    outcome = await wait_for_job(
        rig.provider,
        job_id,
        cadence=cadence,
        deadline=DEADLINE,
        elapsed_at_start=30.0,
        clock=rig.sim.now,
        sleep=rig.sleep,
    )
    assert isinstance(outcome, Succeeded)
    await learning.record_finished(
        db=rig.db, job=row, cadence=cadence, outcome=outcome, now=rig.sim.now()
    )
    stored = await rig.db.run(
        lambda s: timings.run_times(session=s, key=learning.timing_key(row), limit=10)
    )
    assert stored == []


async def test_queue_time_is_recorded_where_the_provider_reports_positions(rig: Rig) -> None:
    rig.sim.script(JobScript(queue_seconds=20.0, queue_positions=[2, 1], run_seconds=50.0))
    await rig.run(learn=True)
    queued = await rig.db.run(
        lambda s: timings.queue_times(session=s, key=learning.timing_key(rig.job_row(0)), limit=10)
    )
    if rig.sim.flavor == "runcomfy":
        [queue] = queued
        assert 15.0 <= queue <= 25.0
    else:  # WaveSpeed reports no positions: its jobs' queue time is not learned
        assert queued == []
