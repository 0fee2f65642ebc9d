"""The gate in front of the provider client's connection pool, over real HTTP against the
simulator: queued status checks wait at the gate, never inside httpx's pool."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from providers import Mode, Running, VideoRequest
from providers.gate import GatedTransport
from providers.wavespeed import WaveSpeed
from tests.providers.conftest import FAST_RETRY, KEY
from tests.providersim import Fault, JobScript, ProviderSim

POOL = 4
CHECKS = 60


class Counting(httpx.AsyncBaseTransport):
    """Counts the requests inside the wrapped transport (httpx's pool) at once: a request is
    inside from the moment it is handed over until its response is closed."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.inside = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self.inside -= 1
            raise
        response.stream = _Leaving(response.stream, self)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Leaving(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, counter: Counting) -> None:
        self._inner = inner
        self._counter: Counting | None = counter

    async def __aiter__(self):  # type: ignore[no-untyped-def]  # noqa: ANN204
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()
        counter, self._counter = self._counter, None
        if counter is not None:
            counter.inside -= 1


def pool() -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    )


async def many_checks(transport: httpx.AsyncBaseTransport, sim: ProviderSim) -> list[object]:
    """Submit one job, then CHECKS status checks of it at once, each answered after 20 ms."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), transport=transport) as client:
        provider = WaveSpeed(
            client=client,
            api_key=SecretStr(KEY),
            base_url=sim.base_url,
            allow_loopback_urls=True,
            retry=FAST_RETRY,
        )
        sim.default_script = JobScript(run_seconds=1e7)
        job_id = await provider.submit(VideoRequest(mode=Mode.TEXT, prompt="a gated fox"))
        sim.fault(Fault("result", http_status=None, delay=0.02, times=CHECKS))
        return list(await asyncio.gather(*(provider.poll(job_id) for _ in range(CHECKS))))


async def test_the_pool_never_holds_more_checks_than_connections(ws_sim: ProviderSim) -> None:
    counting = Counting(pool())
    updates = await many_checks(GatedTransport(counting, size=POOL), ws_sim)

    assert all(isinstance(u, Running) for u in updates)
    assert len([r for r in ws_sim.requests if r.kind == "result"]) == CHECKS
    assert counting.most == POOL  # full, never over: the others waited at the gate
    assert counting.inside == 0  # every place given back


async def test_without_the_gate_the_checks_queue_in_the_pool(ws_sim: ProviderSim) -> None:
    """The same load straight into the pool: this is what the gate prevents."""
    counting = Counting(pool())
    updates = await many_checks(counting, ws_sim)

    assert all(isinstance(u, Running) for u in updates)
    assert counting.most > POOL


async def test_a_failed_request_gives_its_place_back(ws_sim: ProviderSim) -> None:
    gate = GatedTransport(pool(), size=1)
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), transport=gate) as client:
        ws_sim.fault(Fault("any", drop="before", times=2))
        for _ in range(2):
            with pytest.raises(httpx.TransportError):
                await client.get(ws_sim.base_url + "/api/v3/predictions/x/result")
        answer = await client.get(ws_sim.base_url + "/api/v3/predictions/x/result")
    assert answer.status_code in (401, 404)  # reached the simulator: the place was free
