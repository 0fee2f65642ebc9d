"""Notice lag with WaveSpeed callbacks, side by side with today's polling, in one run.

200 WaveSpeed jobs (100 in quick mode) on the simulator, generation times log-normal around a
60 s median (20 % spread), run at 2 simulated seconds per real second. Each job is waited for
with the production code (`wait_for_job`): once with callbacks (the real listener, verification
and wake-up, safety polling every 60 s), once with today's default cadence and no callbacks.
Lag = simulated seconds from the job ending to the first answer that reported it (the
simulator's own record), so a real-time delay counts double: a pessimistic figure.
"""

from __future__ import annotations

import asyncio
import math
import random

import httpx
from pydantic import SecretStr

from benchmarks._report import Section, percentile
from bot.core.observability.metrics import Metrics
from bot.webhook_server import WebhookServer
from providers import Mode, PollCadence, ProviderName, VideoRequest, wait_for_job
from providers.wavespeed import WaveSpeed
from providers.webhooks import CALLBACK_PATH, Wakeups
from tests.e2e.ports import free_port
from tests.providersim import JobScript, ProviderSim

NAME = "webhook_lag"
TITLE = "Notice lag with WaveSpeed webhooks"
SCALE = 2.0
KEY = "bench-key"


def scripts(count: int, rng: random.Random) -> list[JobScript]:
    sigma = math.log(1.2)
    return [
        JobScript(queue_seconds=0, run_seconds=60.0 * math.exp(rng.gauss(0, sigma)))
        for _ in range(count)
    ]


async def lane(count: int, *, webhooks: bool, seed: int) -> tuple[list[float], list[int]]:
    rng = random.Random(seed)
    port = free_port()
    async with (
        ProviderSim("wavespeed", api_key=KEY, time_scale=SCALE) as sim,
        httpx.AsyncClient(
            timeout=httpx.Timeout(30.0), limits=httpx.Limits(max_connections=100)
        ) as client,
    ):
        sim.script(*scripts(count, rng))
        provider = WaveSpeed(
            client=client,
            api_key=SecretStr(KEY),
            base_url=sim.base_url,
            webhook_url=f"http://127.0.0.1:{port}{CALLBACK_PATH}" if webhooks else None,
        )
        # Real seconds: the simulator runs SCALE times faster than real time.
        default = PollCadence()
        scaled = PollCadence(
            first_delay=default.first_delay / SCALE,
            warmup=default.warmup / SCALE,
            warmup_interval=default.warmup_interval / SCALE,
            interval=default.interval / SCALE,
            long_job_after=default.long_job_after / SCALE,
            max_interval=default.max_interval / SCALE,
        )
        safety = PollCadence(
            first_delay=default.first_delay / SCALE,
            warmup=0.0,
            interval=60.0 / SCALE,
            long_job_after=1e9,
            queue_seconds_per_position=0.0,
            max_interval=60.0 / SCALE,
        )
        wakeups = Wakeups(providers=frozenset({ProviderName.WAVESPEED}), cadence=safety)
        server = WebhookServer(
            listen=f"127.0.0.1:{port}",
            wakeups=wakeups,
            secret=provider.webhook_secret,
            metrics=Metrics(),
        )
        if webhooks:
            await server.start()

        submitting = asyncio.Semaphore(10)  # jobs reach the provider a few at a time

        async def one() -> None:
            async with submitting:
                job_id = await provider.submit(VideoRequest(mode=Mode.TEXT, prompt="bench"))
            if webhooks:
                with wakeups.watch(ProviderName.WAVESPEED, job_id) as wake:
                    await wait_for_job(provider, job_id, cadence=safety, deadline=60, wake=wake)
            else:
                await wait_for_job(provider, job_id, cadence=scaled, deadline=60)

        try:
            await asyncio.gather(*(one() for _ in range(count)))
        finally:
            await server.stop()
        lags = [
            job.first_seen_terminal_at - job.completed_at
            for job in sim.jobs.values()
            if job.first_seen_terminal_at is not None
        ]
        requests = [
            sum(1 for r in sim.requests if r.kind in ("result", "post") and job.id in r.path)
            + 1  # its submit
            for job in sim.jobs.values()
        ]
        return lags, requests


async def run(quick: bool) -> Section:
    count = 100 if quick else 200
    section = Section()
    hooked, hooked_requests = await lane(count, webhooks=True, seed=11)
    polled, polled_requests = await lane(count, webhooks=False, seed=11)
    p50 = percentile(hooked, 50)
    per_job = sum(hooked_requests) / len(hooked_requests)
    section.add("jobs per lane", str(count))
    section.add("webhooks: p50 notice lag", f"{p50:.3f} s", "≤ 0.1 s", p50 <= 0.1)
    section.add("webhooks: p95 notice lag", f"{percentile(hooked, 95):.3f} s")
    section.add(
        "webhooks: requests per job (submit included)", f"{per_job:.2f}", "≤ 5", per_job <= 5
    )
    section.add("default cadence: p50 notice lag", f"{percentile(polled, 50):.3f} s")
    section.add("default cadence: p95 notice lag", f"{percentile(polled, 95):.3f} s")
    polled_per_job = sum(polled_requests) / len(polled_requests)
    section.add("default cadence: requests per job (submit included)", f"{polled_per_job:.2f}")
    section.add("requests, webhooks ÷ default cadence", f"{per_job / polled_per_job:.2f}×")
    section.note(
        f"WaveSpeed simulator at {SCALE:.0f}× real time, generation times log-normal (median "
        "60 s, 20 % spread); lag in simulated seconds, so real-time delays count double."
    )
    return section
