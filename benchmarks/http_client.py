"""What one provider status request costs the bot in CPU: the floor under `bot_load`.

The bot's provider client is httpx (the project's stack): `providers.connections.ProviderClient`
with the bot's transport (`provider_transport`: a gate per provider, and aiohttp's client session
under httpx).
Side by side, on the same loopback server and the same request: httpx with its default pool,
and aiohttp's client (the one discord.py brings), for reference. Each client sends `requests`
GETs of a RunComfy-shaped status path, `CONCURRENT` at a time over keep-alive connections, and
reads the JSON body; nothing else runs in its process. The server is an aiohttp application
in a child process (so its CPU is not counted), answering a fixed status document.

CPU per request is the client process's CPU time (time.process_time) over the requests; one
Python process runs its event loop on one core at most, so 1 / that is the most status requests
a process can make per second before doing anything else.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import httpx
from aiohttp import web

from benchmarks._report import Section
from providers.connections import ProviderClient, provider_transport
from tests.e2e.ports import free_port

NAME = "http_client"
TITLE = "CPU per provider status request: the bot's HTTP client and others"

CONCURRENT = 50  # PROVIDER_MAX_CONNECTIONS' default
WARM_UP = 200
# `bot_load`'s scaled case: status checks per job per second with the learned poller, jobs past
# their likely end (benchmarks/REPORT.md, bot_load), and the jobs the issue asks one process for.
CHECKS_PER_JOB = 0.27
JOBS = 5_000
BODY = json.dumps({"request_id": "0" * 32, "status": "in_progress", "queue_position": 0})


def _serve(port: int) -> None:
    async def status(_request: web.Request) -> web.Response:
        return web.Response(text=BODY, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/requests/{request_id}/status", status)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@dataclass(frozen=True, slots=True)
class Measured:
    cpu: float  # seconds per request
    rate: float  # requests per second


async def _drive(get: Callable[[int], Awaitable[None]], requests: int) -> Measured:
    places = asyncio.Semaphore(CONCURRENT)

    async def one(number: int) -> None:
        async with places:
            await get(number)

    await asyncio.gather(*(one(n) for n in range(WARM_UP)))
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(n) for n in range(requests)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Measured(cpu=cpu / requests, rate=requests / wall)


async def _httpx(base: str, requests: int, transport: httpx.AsyncBaseTransport | None) -> Measured:
    """httpx's own client and pool, or the bot's client on `transport`."""
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    kind = httpx.AsyncClient if transport is None else ProviderClient
    async with kind(base_url=base, transport=transport, limits=limits) as client:

        async def get(number: int) -> None:
            response = await client.get(f"/v1/requests/{number}/status")
            response.raise_for_status()
            response.json()

        return await _drive(get, requests)


async def _aiohttp(base: str, requests: int) -> Measured:
    connector = aiohttp.TCPConnector(limit=CONCURRENT)
    async with aiohttp.ClientSession(base, connector=connector) as session:

        async def get(number: int) -> None:
            async with session.get(f"/v1/requests/{number}/status") as response:
                response.raise_for_status()
                await response.json()

        return await _drive(get, requests)


async def run(quick: bool) -> Section:
    requests = 2_000 if quick else 10_000
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    server.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):  # the child's start-up
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        host = f"127.0.0.1:{port}"
        bot = await _httpx(base, requests, provider_transport([host], connections=CONCURRENT))
        pooled = await _httpx(base, requests, None)
        reference = await _aiohttp(base, requests)
    finally:
        server.kill()
        server.join()
    section = Section()
    needed = JOBS * CHECKS_PER_JOB
    section.add(
        "CPU per status request: httpx with the bot's transport",
        f"{bot.cpu * 1000:.2f} ms (at most {1 / bot.cpu:,.0f} requests/s on one core; "
        f"{bot.rate:,.0f}/s measured)",
    )
    section.add(
        "CPU per status request: httpx with its own pool",
        f"{pooled.cpu * 1000:.2f} ms ({pooled.cpu / bot.cpu:.2f}× the bot's transport)",
    )
    section.add(
        "CPU per status request: aiohttp's client (reference)",
        f"{reference.cpu * 1000:.2f} ms ({reference.cpu / bot.cpu:.2f}× the bot's transport; "
        f"{reference.rate:,.0f}/s measured)",
    )
    section.add(
        f"{JOBS:,} jobs at {CHECKS_PER_JOB} checks per job per second ({needed:,.0f}/s): cores "
        "for the HTTP client alone",
        f"{needed * bot.cpu:.2f} (httpx, the bot's transport) · {needed * reference.cpu:.2f} "
        "(aiohttp)",
        "≤ 1 (one process)",
        needed * bot.cpu <= 1.0,
    )
    section.note(
        f"{requests:,} GETs per client after {WARM_UP} to warm up, {CONCURRENT} at a time over "
        "keep-alive connections to an aiohttp server on loopback in a child process; each "
        "response's JSON read. CPU: the client process's time.process_time over the requests."
    )
    section.note(
        f"The last row: the check rate of `bot_load`'s scaled case ({CHECKS_PER_JOB} per job "
        f"per second) for the {JOBS:,} jobs the issue asks one process to hold, times the CPU "
        "of one request. A process's event loop runs on one core at most, so above 1 the "
        "requests alone cannot keep that rate, before any of the bot's own work for them."
    )
    return section
