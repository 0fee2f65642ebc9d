"""The provider client's connections, over real HTTP against the simulators: each provider has
its own gate and connections, each request a connection no other request is using, and
connections are reused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpcore
import httpx
import pytest
from pydantic import SecretStr

from bot.app import metered_transport
from bot.core.observability.metrics import Metrics
from bot.core.settings import Settings
from providers import Mode, Provider, ProviderName, Running, VideoRequest, build_providers
from providers.connections import ByHost, OneConnectionEach, gated_connections
from providers.gate import GatedTransport
from providers.wavespeed import WaveSpeed
from tests.providers.conftest import FAST_RETRY, KEY
from tests.providersim import Fault, JobScript, ProviderSim

SIZE = 4
CHECKS = 60


def bot_settings(rc_sim: ProviderSim, ws_sim: ProviderSim, connections: int) -> Settings:
    return Settings(
        _env_file=None,
        runcomfy_api_key=SecretStr(KEY),
        runcomfy_base_url=rc_sim.base_url,
        wavespeed_api_key=SecretStr(KEY),
        wavespeed_base_url=ws_sim.base_url,
        allow_loopback_urls=True,
        provider_max_connections=connections,
    )


@pytest.fixture
async def bot_providers(
    rc_sim: ProviderSim, ws_sim: ProviderSim
) -> AsyncIterator[dict[ProviderName, Provider]]:
    """Both providers on the bot's own provider client, two connections each."""
    settings = bot_settings(rc_sim, ws_sim, connections=2)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(60.0), transport=metered_transport(settings, Metrics())
    ) as client:
        yield build_providers(
            settings.provider_configs(), client=client, allow_loopback_urls=True, retry=FAST_RETRY
        )


def single_pools(gate: GatedTransport) -> list[httpcore.AsyncConnectionPool]:
    lender = gate._inner
    assert isinstance(lender, OneConnectionEach)
    pools = []
    for pool in lender.pools:
        assert isinstance(pool, httpx.AsyncHTTPTransport)
        assert isinstance(pool._pool, httpcore.AsyncConnectionPool)
        pools.append(pool._pool)
    return pools


async def test_each_check_has_a_connection_of_its_own_and_connections_are_reused(
    ws_sim: ProviderSim,
) -> None:
    gate = gated_connections(SIZE, ssl_context=httpx.create_ssl_context())
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), transport=gate) as client:
        provider = WaveSpeed(
            client=client,
            api_key=SecretStr(KEY),
            base_url=ws_sim.base_url,
            allow_loopback_urls=True,
            retry=FAST_RETRY,
        )
        ws_sim.default_script = JobScript(run_seconds=1e7)
        job_id = await provider.submit(VideoRequest(mode=Mode.TEXT, prompt="a fox, one each"))
        ws_sim.fault(Fault("result", http_status=None, delay=0.02, times=CHECKS))
        first = await asyncio.gather(*(provider.poll(job_id) for _ in range(CHECKS)))
        second = await asyncio.gather(*(provider.poll(job_id) for _ in range(CHECKS)))
        pools = single_pools(gate)

    assert all(isinstance(u, Running) for u in [*first, *second])
    checks = [r for r in ws_sim.requests if r.kind == "result"]
    assert len(checks) == 2 * CHECKS
    ports = {r.client_port for r in ws_sim.requests}
    assert None not in ports
    assert 1 <= len(ports) <= SIZE  # 121 requests over at most SIZE connections: reused
    assert len(pools) == len(ports)  # one pool per connection ...
    assert all(len(pool.connections) <= 1 for pool in pools)  # ... and one connection per pool


async def test_a_slow_provider_never_holds_the_places_of_the_other(
    bot_providers: dict[ProviderName, Provider], rc_sim: ProviderSim, ws_sim: ProviderSim
) -> None:
    """RunComfy's status checks hang (more of them than its connections); WaveSpeed's, on the
    same client, are answered meanwhile. With one gate for both, they waited behind RunComfy's."""
    runcomfy = bot_providers[ProviderName.RUNCOMFY]
    wavespeed = bot_providers[ProviderName.WAVESPEED]
    rc_sim.default_script = JobScript(run_seconds=1e7)
    ws_sim.default_script = JobScript(run_seconds=1e7)
    request = VideoRequest(mode=Mode.TEXT, prompt="a tortoise and a hare")
    rc_job = await runcomfy.submit(request)
    ws_job = await wavespeed.submit(request)
    rc_sim.fault(Fault("status", http_status=None, delay=30.0, times=6))
    hanging = [asyncio.create_task(runcomfy.poll(rc_job)) for _ in range(6)]
    try:
        async with asyncio.timeout(20.0):
            while len([r for r in rc_sim.requests if r.kind == "status"]) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.01)  # RunComfy's two places are taken
            async with asyncio.timeout(10.0):
                answers = await asyncio.gather(*(wavespeed.poll(ws_job) for _ in range(8)))
        assert all(isinstance(a, Running) for a in answers)
        assert not any(task.done() for task in hanging)
        assert len([r for r in rc_sim.requests if r.kind == "status"]) == 2  # the rest wait
    finally:
        for task in hanging:
            task.cancel()
        await asyncio.gather(*hanging, return_exceptions=True)


def test_the_bot_gives_each_provider_host_its_own_gate_of_the_configured_size() -> None:
    settings = Settings(
        _env_file=None,
        runcomfy_api_key=SecretStr(KEY),
        runcomfy_base_url="https://rc.example:8443",
        wavespeed_api_key=SecretStr(KEY),
        wavespeed_base_url="https://ws.example",
        provider_max_connections=7,
    )
    router = metered_transport(settings, Metrics())._inner
    assert isinstance(router, ByHost)
    assert set(router.routes) == {"rc.example:8443", "ws.example"}
    gates = [*router.routes.values(), router.other]
    assert len({id(gate) for gate in gates}) == 3
    for gate in gates:
        assert isinstance(gate, GatedTransport)
        assert gate.size == 7
        assert isinstance(gate._inner, OneConnectionEach)
