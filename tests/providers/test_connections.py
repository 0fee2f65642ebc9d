"""The provider client's connections, over real HTTP against the simulators and a plain aiohttp
server: each provider has its own gate and connections, connections are reused, the request the
provider gets is the one httpx built, and every failure is the httpx error the providers' code
tells apart (never sent, or sent and its answer lost)."""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.app import metered_transport, provider_client
from bot.core.observability.metrics import Metrics
from bot.core.settings import Settings
from providers import (
    Mode,
    Provider,
    ProviderName,
    Running,
    SubmitNotSent,
    SubmitOutcomeUnknown,
    VideoRequest,
    build_providers,
)
from providers.connections import AiohttpConnections, ByHost, ProviderClient, gated_connections
from providers.gate import GatedTransport
from providers.wavespeed import WaveSpeed
from tests.e2e.ports import free_port
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
    async with provider_client(settings, Metrics()) as client:
        yield build_providers(
            settings.provider_configs(), client=client, allow_loopback_urls=True, retry=FAST_RETRY
        )


def wavespeed_on(client: httpx.AsyncClient, base_url: str) -> WaveSpeed:
    return WaveSpeed(
        client=client,
        api_key=SecretStr(KEY),
        base_url=base_url,
        allow_loopback_urls=True,
        retry=FAST_RETRY,
    )


def gated_client(size: int = SIZE, timeout: float = 10.0) -> httpx.AsyncClient:
    gate = gated_connections(size, ssl_context=httpx.create_ssl_context())
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), transport=gate)


async def test_each_check_has_a_connection_of_its_own_and_connections_are_reused(
    ws_sim: ProviderSim,
) -> None:
    async with gated_client() as client:
        provider = wavespeed_on(client, ws_sim.base_url)
        ws_sim.default_script = JobScript(run_seconds=1e7)
        job_id = await provider.submit(VideoRequest(mode=Mode.TEXT, prompt="a fox, one each"))
        ws_sim.fault(Fault("result", http_status=None, delay=0.02, times=CHECKS))
        first = await asyncio.gather(*(provider.poll(job_id) for _ in range(CHECKS)))
        second = await asyncio.gather(*(provider.poll(job_id) for _ in range(CHECKS)))

    assert all(isinstance(u, Running) for u in [*first, *second])
    checks = [r for r in ws_sim.requests if r.kind == "result"]
    assert len(checks) == 2 * CHECKS
    ports = {r.client_port for r in ws_sim.requests}
    assert None not in ports
    assert 1 <= len(ports) <= SIZE  # 121 requests over at most SIZE connections: reused


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
        assert isinstance(gate._inner, AiohttpConnections)
        assert gate._inner.size == 7  # as many connections as places


async def test_the_provider_gets_the_request_httpx_built(ws_sim: ProviderSim) -> None:
    async with gated_client() as client:
        provider = wavespeed_on(client, ws_sim.base_url)
        await provider.submit(VideoRequest(mode=Mode.TEXT, prompt="a heron at dawn, très calme"))
        built = client.build_request(
            "POST", ws_sim.base_url + "/x", json={"prompt": "a heron at dawn, très calme"}
        )

    (submit,) = [r for r in ws_sim.requests if r.kind == "post"]
    assert submit.json["prompt"] == "a heron at dawn, très calme"
    assert submit.headers["authorization"] == f"Bearer {KEY}"
    assert submit.headers["content-type"] == "application/json"
    assert submit.headers["content-length"] == str(len(submit.body))
    assert submit.headers["user-agent"] == built.headers["user-agent"]  # httpx's, not aiohttp's
    assert "transfer-encoding" not in submit.headers
    assert json.loads(submit.body) == submit.json


async def test_a_submit_whose_answer_is_lost_is_unknown_and_one_never_sent_is_not_sent(
    ws_sim: ProviderSim,
) -> None:
    request = VideoRequest(mode=Mode.TEXT, prompt="a lighthouse")
    async with gated_client() as client:
        provider = wavespeed_on(client, ws_sim.base_url)
        ws_sim.fault(Fault("post", http_status=None, drop="after"))
        with pytest.raises(SubmitOutcomeUnknown):
            await provider.submit(request)
        assert len(ws_sim.jobs) == 1  # the job exists: it must not be sent again blindly

        nobody = wavespeed_on(client, f"http://127.0.0.1:{free_port()}")
        with pytest.raises(SubmitNotSent) as refused:
            await nobody.submit(request)
        assert isinstance(refused.value.__cause__, httpx.ConnectError)


async def test_a_status_answer_cut_mid_body_is_asked_again(ws_sim: ProviderSim) -> None:
    async with gated_client() as client:
        provider = wavespeed_on(client, ws_sim.base_url)
        ws_sim.default_script = JobScript(run_seconds=1e7)
        job_id = await provider.submit(VideoRequest(mode=Mode.TEXT, prompt="a kite"))
        ws_sim.fault(Fault("result", http_status=None, drop="mid"))
        assert isinstance(await provider.poll(job_id), Running)
    assert len([r for r in ws_sim.requests if r.kind == "result"]) == 2


async def test_a_read_timeout_is_httpx_s_and_gives_back_its_place(ws_sim: ProviderSim) -> None:
    ws_sim.fault(Fault("any", http_status=None, delay=2.0))
    async with gated_client(size=1, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(ws_sim.base_url + "/api/v3/predictions/x/result")
        # The only place is free again, and the timed-out connection is not reused.
        answer = await client.get(ws_sim.base_url + "/api/v3/predictions/x/result")
    assert answer.status_code in (401, 404)


@pytest.fixture
async def plain_server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """An aiohttp server answering gzip bodies, a redirect and a cookie, recording requests."""
    seen: list[web.Request] = []

    async def gzipped(request: web.Request) -> web.Response:
        seen.append(request)
        body = gzip.compress(json.dumps({"status": "processing"}).encode())
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    async def moved(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(
            status=302, headers={"Location": "/gzipped", "Set-Cookie": "region=eu; Path=/"}
        )

    app = web.Application()
    app.router.add_get("/gzipped", gzipped)
    app.router.add_get("/moved", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        # By name: aiohttp's own cookie jar (which must not be used) ignores IP addresses.
        yield f"http://localhost:{port}", seen
    finally:
        await runner.cleanup()


async def test_redirects_cookies_and_compression_are_httpx_s_alone(
    plain_server: tuple[str, list[web.Request]],
) -> None:
    base, seen = plain_server
    async with gated_client() as client:
        moved = await client.get(base + "/moved")
        assert moved.status_code == 302  # not followed underneath httpx
        assert moved.cookies["region"] == "eu"
        followed = await client.get(base + "/moved", follow_redirects=True)
        client.cookies.clear()
        await client.get(base + "/gzipped")  # no cookie kept anywhere else

    assert followed.status_code == 200
    assert followed.json() == {"status": "processing"}  # decoded once, by httpx
    assert [r.path for r in seen] == ["/moved", "/moved", "/gzipped", "/gzipped"]
    assert seen[0].cookies == {}
    assert seen[1].cookies == {"region": "eu"}  # httpx's cookie jar, sent once
    assert seen[1].headers.getall("Cookie") == ["region=eu"]
    assert seen[2].headers["Accept-Encoding"] == client.headers["Accept-Encoding"]
    assert "Cookie" not in seen[3].headers


@pytest.fixture
def no_collection() -> Iterator[None]:
    """The collector off, and what it finds kept in `gc.garbage` rather than freed."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.mark.usefixtures("no_collection")
async def test_a_status_check_leaves_nothing_for_the_garbage_collector(
    bot_providers: dict[ProviderName, Provider], ws_sim: ProviderSim
) -> None:
    """Freed as soon as dropped: a response left in a reference cycle waits for the collector,
    whose passes then stall the event loop (benchmarks/REPORT.md, bot_load)."""
    wavespeed = bot_providers[ProviderName.WAVESPEED]
    ws_sim.default_script = JobScript(run_seconds=1e7)
    job_id = await wavespeed.submit(VideoRequest(mode=Mode.TEXT, prompt="a moth at a lamp"))
    answers = [await wavespeed.poll(job_id) for _ in range(CHECKS)]
    assert all(isinstance(a, Running) for a in answers)
    gc.collect()
    left = [o for o in gc.garbage if type(o).__module__.split(".")[0] in ("httpx", "aiohttp")]
    assert left == []


async def test_a_streamed_response_is_still_read_whole(ws_sim: ProviderSim) -> None:
    url = ws_sim.put_file("clip.mp4", b"\x00" * 300_000)
    gate = gated_connections(2, ssl_context=httpx.create_ssl_context())
    async with ProviderClient(transport=gate) as client:
        async with client.stream("GET", url) as response:
            body = b"".join([chunk async for chunk in response.aiter_bytes()])
        read = await client.get(url)
    assert len(body) == 300_000
    assert read.content == body and read.elapsed.total_seconds() > 0


async def test_a_streamed_request_body_is_sent_whole_with_its_length(ws_sim: ProviderSim) -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b'{"prompt": '
        yield b'"in two parts"}'

    async with gated_client() as client:
        built = client.build_request("POST", ws_sim.base_url + "/x", content=parts())
        assert built.headers["transfer-encoding"] == "chunked"  # what httpx would send
        await client.send(built)

    (sent,) = ws_sim.requests
    assert sent.body == b'{"prompt": "in two parts"}'
    assert sent.headers["content-length"] == str(len(sent.body))
    assert "transfer-encoding" not in sent.headers
