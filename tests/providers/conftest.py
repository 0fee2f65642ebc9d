from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from providers import PollCadence, RetryPolicy
from providers.runcomfy import RunComfy
from providers.wavespeed import WaveSpeed
from tests.providersim import ProviderSim

KEY = "sim-provider-key-7f3a"
# Tests drive the real retry and poll code with tiny delays.
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01, max_retry_after=0.05)
FAST_CADENCE = PollCadence(
    first_delay=0.01,
    warmup=0.0,
    warmup_interval=0.01,
    interval=0.02,
    long_job_after=1000.0,
    queue_seconds_per_position=0.01,
    max_interval=0.05,
)
IMAGE_URL = "https://cdn.example.com/cat.png"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as client:
        yield client


@pytest.fixture
async def rc_sim() -> AsyncIterator[ProviderSim]:
    async with ProviderSim("runcomfy", api_key=KEY, time_scale=100.0) as sim:
        yield sim


@pytest.fixture
async def ws_sim() -> AsyncIterator[ProviderSim]:
    async with ProviderSim("wavespeed", api_key=KEY, time_scale=100.0) as sim:
        yield sim


@pytest.fixture
def runcomfy(rc_sim: ProviderSim, http: httpx.AsyncClient) -> RunComfy:
    return RunComfy(
        client=http,
        api_key=SecretStr(KEY),
        base_url=rc_sim.base_url,
        allow_loopback_urls=True,
        retry=FAST_RETRY,
    )


@pytest.fixture
def wavespeed(ws_sim: ProviderSim, http: httpx.AsyncClient) -> WaveSpeed:
    return WaveSpeed(
        client=http,
        api_key=SecretStr(KEY),
        base_url=ws_sim.base_url,
        allow_loopback_urls=True,
        retry=FAST_RETRY,
    )
