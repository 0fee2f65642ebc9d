"""`ProviderSim`: the loopback aiohttp server, its clock, fault queue and file server."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from ._callbacks import CallbackSender, Delivery
from ._model import (
    AuthResult,
    Flavor,
    FlavorHandler,
    Incoming,
    RecordedRequest,
    Reply,
    Route,
    SimJob,
)
from ._runcomfy import IMAGE_MAX_BYTES as RUNCOMFY_IMAGE_MAX_BYTES
from ._runcomfy import IMAGE_TOO_LARGE as RUNCOMFY_IMAGE_TOO_LARGE
from ._runcomfy import RunComfyHandler
from ._script import Fault, JobScript, mp4_prefix, tiny_mp4
from ._timing import GenerationTimes
from ._wavespeed import WaveSpeedHandler

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
_ZEROS = bytes(CHUNK_SIZE)
_FILES_PREFIX = "/files/"
_MAX_REQUEST_BODY = 16 * 1024 * 1024
_SHUTDOWN_TIMEOUT = 0.5


@dataclass
class _PendingFault:
    fault: Fault
    remaining: int


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    if not raw:
        return None, False
    try:
        return json.loads(raw), True
    except ValueError:
        return None, False


def _missing_file(status: int) -> Reply:
    code = "NoSuchKey" if status == 404 else "AccessDenied" if status == 403 else "Error"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>The file is not available.</Message></Error>"
    )
    return Reply(status=status, body=body.encode(), headers={"Content-Type": "application/xml"})


def _chunks(reply: Reply, limit: int) -> Iterator[bytes | memoryview]:
    """The first `limit` bytes of the reply body in CHUNK_SIZE pieces, without building it."""
    if reply.stream_size is None:
        view = memoryview(reply.body)
        for start in range(0, limit, CHUNK_SIZE):
            yield view[start : min(start + CHUNK_SIZE, limit)]
        return
    prefix = mp4_prefix(reply.stream_size)
    zeros = memoryview(_ZEROS)
    for start in range(0, limit, CHUNK_SIZE):
        size = min(CHUNK_SIZE, limit - start)
        if start == 0:
            yield (prefix + _ZEROS[: max(size - len(prefix), 0)])[:size]
        else:
            yield zeros[:size]


class ProviderSim:
    """A loopback RunComfy or WaveSpeedAI server whose jobs follow scripts and whose answers can
    be faulted. See the package docstring for an example."""

    def __init__(
        self,
        flavor: Flavor,
        *,
        api_key: str = "sim-key",
        time_scale: float = 1.0,
        revoked_keys: Collection[str] = (),
    ) -> None:
        if flavor not in ("runcomfy", "wavespeed"):
            raise ValueError(f"unknown flavor {flavor!r}")
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.flavor: Flavor = flavor
        self.api_key = api_key
        self.time_scale = time_scale
        self.revoked_keys = frozenset(revoked_keys)
        self.default_script = JobScript()
        self.generation: GenerationTimes | None = None
        """When set, a job with no queued script draws one from these distributions."""
        self.requests: list[RecordedRequest] = []
        self.jobs: dict[str, SimJob] = {}
        self._scripts: deque[JobScript] = deque()
        self._faults: list[_PendingFault] = []
        self._files: dict[str, JobScript] = {}
        self._handler: FlavorHandler = (
            RunComfyHandler(self) if flavor == "runcomfy" else WaveSpeedHandler(self)
        )
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._wall0 = datetime.now(UTC)
        self._submit_limit: tuple[int, float] | None = None
        self._accepted_submits: deque[float] = deque()
        self.webhook_secret = "whsec_" + secrets.token_hex(24)
        self._callbacks = CallbackSender(
            jobs=self.jobs,
            now=self.now,
            secret=lambda: self.webhook_secret,
            body=self._callback_body,
            is_terminal=lambda job, now: job.is_terminal_at(now),
        )

    # ----- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port and reset the simulated clock to 0."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        app = web.Application(client_max_size=_MAX_REQUEST_BODY)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        host, port = runner.addresses[0][:2]
        self._runner = runner
        self._base_url = f"http://{host}:{port}"
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._wall0 = datetime.now(UTC)
        if self.flavor == "wavespeed":
            self._callbacks.start()
        log.debug("%s simulator listening on %s", self.flavor, self._base_url)

    async def stop(self) -> None:
        """Close the listener and every connection. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await self._callbacks.stop()
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, origin only."""
        if self._base_url is None:
            raise RuntimeError("simulator not started")
        return self._base_url

    # ----- scripting

    def script(self, *scripts: JobScript) -> None:
        """Queue scripts: each new job takes the next one, then `default_script`."""
        self._scripts.extend(scripts)

    def limit_submits(self, count: int, *, per_seconds: float = 60.0) -> None:
        """Accept at most `count` submits per `per_seconds` simulated seconds (WaveSpeed's
        default tier: 2 videos a minute, PROVIDERS.md); others get 429 with `Retry-After`
        (whole real seconds until a submit is accepted again). The refused POST creates no
        job."""
        if count < 1 or per_seconds <= 0:
            raise ValueError("count must be >= 1 and per_seconds > 0")
        self._submit_limit = (count, per_seconds)

    def _over_submit_limit(self) -> Reply | None:
        if self._submit_limit is None:
            return None
        count, window = self._submit_limit
        now = self.now()
        while self._accepted_submits and self._accepted_submits[0] <= now - window:
            self._accepted_submits.popleft()
        if len(self._accepted_submits) < count:
            self._accepted_submits.append(now)
            return None
        wait_real = (self._accepted_submits[0] + window - now) / self.time_scale
        reply = Reply.of_json(429, self._handler.error_body(429))
        reply.headers["Retry-After"] = str(max(1, math.ceil(wait_real)))
        return reply

    def fault(self, *faults: Fault) -> None:
        """Queue faults; each request takes the first pending one of its kind (or "any")."""
        self._faults.extend(_PendingFault(f, f.times) for f in faults)

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults not yet used up, in queue order."""
        return [p.fault for p in self._faults]

    def put_file(
        self,
        name: str,
        data: bytes | None = None,
        *,
        size: int | None = None,
        content_type: str = "video/mp4",
        status: int = 200,
    ) -> str:
        """Serve an extra file at `file_url(name)` (bytes, or a generated MP4 of `size` bytes)."""
        self._files[name] = JobScript(
            video=data, video_size=size, content_type=content_type, result_status=status
        )
        return self.file_url(name)

    def drop_webhooks(self, count: int = 1) -> None:
        """Lose the next `count` callbacks (recorded as dropped, never sent)."""
        self._callbacks.drop_next += count

    # ----- observation

    @property
    def webhooks(self) -> list[Delivery]:
        """Every WaveSpeed callback, sent or dropped, in order."""
        return self._callbacks.deliveries

    def submits(self) -> list[RecordedRequest]:
        """Every submit POST received (faulted ones included), in order."""
        return [r for r in self.requests if r.kind == "post"]

    def now(self) -> float:
        """Simulated seconds since start: real time x time_scale, plus any `advance()`."""
        return (time.monotonic() - self._t0) * self.time_scale + self._offset

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward by `seconds` without waiting."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def file_url(self, name: str) -> str:
        return f"{self.base_url}{_FILES_PREFIX}{quote(name)}"

    # ----- SimCore, for the flavor handlers

    def iso(self, sim_time: float) -> str:
        """Wall-clock ISO 8601 (UTC, milliseconds, `Z`) of a simulated instant."""
        moment = self._wall0 + timedelta(seconds=sim_time)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def check_auth(self, headers: Mapping[str, str]) -> AuthResult:
        value = headers.get("authorization")
        if value is None:
            return "missing"
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "bad"
        if token in self.revoked_keys:
            return "revoked"
        if hmac.compare_digest(token.encode(), self.api_key.encode()):
            return "ok"
        return "bad"

    def create_job(self, job_id: str, model_id: str, body: Any) -> SimJob:
        if self._scripts:
            script = self._scripts.popleft()
        elif self.generation is not None:
            script = self.generation.script_for(self.flavor, model_id, body)
        else:
            script = self.default_script
        job = SimJob(
            id=job_id,
            flavor=self.flavor,
            model_id=model_id,
            body=body,
            script=script,
            submitted_at=self.now(),
        )
        self.jobs[job_id] = job
        log.debug("%s job %s created for %s", self.flavor, job_id, model_id)
        return job

    def _callback_body(self, job: SimJob) -> dict[str, Any]:
        assert isinstance(self._handler, WaveSpeedHandler)
        return self._handler.callback_body(job)

    def video_url(self, job: SimJob) -> str:
        return job.script.video_url or self.file_url(job.file_name)

    # ----- request handling

    def _classify(self, method: str, path: str) -> Route:
        if path.startswith(_FILES_PREFIX) and method in ("GET", "HEAD"):
            return Route("file", path.removeprefix(_FILES_PREFIX))
        return self._handler.classify(method, path)

    def _take_fault(self, kind: str) -> Fault | None:
        for index, pending in enumerate(self._faults):
            if pending.fault.kind in (kind, "any"):
                pending.remaining -= 1
                if pending.remaining == 0:
                    del self._faults[index]
                return pending.fault
        return None

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        parsed, json_ok = _parse_json(raw)
        route = self._classify(request.method, request.path)
        headers = {k.lower(): v for k, v in request.headers.items()}
        fault = self._take_fault(route.kind)
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query.items()),
                headers=headers,
                json=parsed,
                body=raw,
                time=self.now(),
                kind=route.kind,
                fault=fault,
                client_port=_client_port(request),
            )
        )
        incoming = Incoming(
            method=request.method,
            path=request.path,
            headers=headers,
            json=parsed,
            json_ok=json_ok,
            query=dict(request.query.items()),
        )
        if fault is None:
            limited = None
            if route.kind == "post" and self.check_auth(headers) == "ok":
                limited = self._over_submit_limit()
            return await self._send(
                request, limited or await self._answer_and_fetch(route, incoming)
            )

        log.debug("fault %r answers %s %s", fault, request.method, request.path)
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.drop == "before":
            return self._hang_up(request)
        if fault.drop == "after":
            await self._answer_and_fetch(route, incoming)
            return self._hang_up(request)
        reply = (
            self._fault_reply(fault)
            if fault.replaces_answer
            else await self._answer_and_fetch(route, incoming)
        )
        return await self._send(
            request, reply, extra_headers=fault.headers, truncate=fault.drop == "mid"
        )

    async def _answer_and_fetch(self, route: Route, incoming: Incoming) -> Reply:
        """Answer; a submit that created a job also has its input image fetched, as the real
        providers do (the job fails when the image cannot be downloaded)."""
        known = set(self.jobs)
        reply = self._answer(route, incoming)
        for job_id in set(self.jobs) - known:
            await self._fetch_inputs(self.jobs[job_id])
        return reply

    async def _fetch_inputs(self, job: SimJob) -> None:
        body = job.body if isinstance(job.body, dict) else {}
        urls = body.get("image_urls") if self.flavor == "runcomfy" else [body.get("image")]
        for url in [u for u in urls or [] if isinstance(u, str)]:
            # Only loopback URLs are fetched: tests have no other network.
            if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
                continue
            status, size = 0, 0
            try:
                async with (
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                    session.get(url) as response,
                ):
                    size = len(await response.read())
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            job.input_fetches.append((url, status))
            reason = None
            if status != 200:
                reason = f"failed to download the input image (HTTP {status or 'no answer'})"
            elif self.flavor == "runcomfy" and size >= RUNCOMFY_IMAGE_MAX_BYTES:
                reason = RUNCOMFY_IMAGE_TOO_LARGE  # the schema's size rule and its error
            if reason is not None:
                error: Any = {"message": reason} if self.flavor == "runcomfy" else reason
                job.script = dataclasses.replace(job.script, outcome="failed", error=error)

    def _answer(self, route: Route, incoming: Incoming) -> Reply:
        if route.kind == "file":
            return self._file_reply(route.arg)
        return self._handler.handle(route, incoming)

    def _fault_reply(self, fault: Fault) -> Reply:
        status = 200 if fault.http_status is None else fault.http_status
        if fault.raw is not None:
            reply = Reply(status, fault.raw, {"Content-Type": "application/json"})
        else:
            body = self._handler.error_body(status) if fault.body is None else fault.body
            reply = Reply.of_json(status, body)
        if status == 429:
            reply.headers["Retry-After"] = "1"
        return reply

    def _file_reply(self, name: str) -> Reply:
        script = self._files.get(name)
        if script is None:
            job = self.jobs.get(name.removesuffix(".mp4")) if name.endswith(".mp4") else None
            if job is None or job.phase_at(self.now()) != "completed":
                return _missing_file(404)
            script = job.script
        if script.result_status != 200:
            return _missing_file(script.result_status)
        headers = {"Content-Type": script.content_type}
        if script.video_size is not None:
            return Reply(200, headers=headers, stream_size=script.video_size)
        return Reply(200, script.video if script.video is not None else tiny_mp4(), headers)

    async def _send(
        self,
        request: web.Request,
        reply: Reply,
        *,
        extra_headers: Mapping[str, str] | None = None,
        truncate: bool = False,
    ) -> web.StreamResponse:
        headers: CIMultiDict[str] = CIMultiDict(reply.headers)
        headers.update(extra_headers or {})
        if headers.get("Retry-After") == "":
            del headers["Retry-After"]
        if not truncate and reply.on_sent is not None:
            reply.on_sent()
        if reply.stream_size is None and not truncate:
            return web.Response(status=reply.status, body=reply.body, headers=headers)

        total = len(reply.body) if reply.stream_size is None else reply.stream_size
        response = web.StreamResponse(status=reply.status, headers=headers)
        response.content_length = total
        try:
            await response.prepare(request)
            if request.method != "HEAD":
                for chunk in _chunks(reply, total // 2 if truncate else total):
                    await response.write(chunk)
            if truncate:
                self._hang_up(request)
                return response
            await response.write_eof()
        except ConnectionError:
            log.debug("client went away during %s %s", request.method, request.path)
        return response

    @staticmethod
    def _hang_up(request: web.Request) -> web.StreamResponse:
        """Close the connection; aiohttp then fails quietly to send the returned response."""
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=500)


def _client_port(request: web.Request) -> int | None:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return int(peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None


__all__ = ["ProviderSim"]
