"""The simulator's records (requests, jobs) and the small types its flavors speak in."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ._script import Fault, JobScript

Flavor = Literal["runcomfy", "wavespeed"]
RequestKind = Literal["post", "status", "result", "cancel", "file", "webhook_secret", "other"]
Phase = Literal["queued", "running", "completed", "failed", "cancelled"]
AuthResult = Literal["ok", "missing", "bad", "revoked"]

TERMINAL_PHASES: frozenset[Phase] = frozenset({"completed", "failed", "cancelled"})

_WIRE_STATUS: dict[Flavor, dict[Phase, str]] = {
    "runcomfy": {
        "queued": "in_queue",
        "running": "in_progress",
        "completed": "completed",
        "failed": "failed",
        "cancelled": "cancelled",
    },
    "wavespeed": {
        "queued": "created",
        "running": "processing",
        "completed": "completed",
        "failed": "failed",
        "cancelled": "cancelled",
    },
}


def wire_status(flavor: Flavor, phase: Phase) -> str:
    """The status string `flavor` puts on the wire for `phase`."""
    return _WIRE_STATUS[flavor][phase]


@dataclass
class RecordedRequest:
    """One request the simulator received, recorded before any fault or handling."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lowercase header names."""
    json: Any
    """The parsed JSON body, or None when the body is empty or not JSON."""
    body: bytes
    """The raw body bytes."""
    time: float
    """Simulated clock when the request arrived."""
    kind: RequestKind
    fault: Fault | None = None
    """The injected fault that answered this request, if any."""
    client_port: int | None = None
    """The client's TCP port: requests with the same one came over the same connection."""

    @property
    def raw(self) -> bytes:
        """Alias of `body`."""
        return self.body


@dataclass(eq=False)
class SimJob:
    """A submitted job; its state is a pure function of the simulated clock."""

    id: str
    flavor: Flavor
    model_id: str
    body: Any
    """The submitted JSON body."""
    script: JobScript
    submitted_at: float
    """Simulated clock at submission."""
    cancelled_at: float | None = None
    """Simulated clock when a cancel request cancelled it (RunComfy only)."""
    first_seen_terminal_at: float | None = None
    """Simulated clock when a status/result GET first reported the terminal state to a client."""
    polls: int = 0
    """How many status/result GETs were answered for this job."""
    webhook_url: str | None = None
    """WaveSpeed: the `?webhook=` URL given at submit, called back when the job ends."""
    input_fetches: list[tuple[str, int]] = field(default_factory=list)
    """The input image URLs the provider fetched at submit, with the HTTP status it got
    (0: no answer)."""

    @property
    def cancelled(self) -> bool:
        """Whether a cancel request cancelled this job."""
        return self.cancelled_at is not None

    @property
    def completed_at(self) -> float:
        """Simulated clock when the job reaches (or reached) its terminal state."""
        if self.cancelled_at is not None:
            return self.cancelled_at
        return self.submitted_at + self.script.terminal_after

    @property
    def file_name(self) -> str:
        """Name of the job's result file on the simulator's file server."""
        return f"{self.id}.mp4"

    def phase_at(self, now: float) -> Phase:
        """Flavor-neutral state at simulated time `now`."""
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "cancelled"
        elapsed = now - self.submitted_at
        if elapsed < self.script.queue_seconds:
            return "queued"
        if elapsed < self.script.terminal_after:
            return "running"
        return self.script.outcome

    def status_at(self, now: float) -> str:
        """The wire status string the provider reports at simulated time `now`."""
        return wire_status(self.flavor, self.phase_at(now))

    def is_terminal_at(self, now: float) -> bool:
        return self.phase_at(now) in TERMINAL_PHASES

    def queue_position_at(self, now: float) -> int | None:
        """RunComfy queue position while queued, else None."""
        if self.phase_at(now) != "queued":
            return None
        positions = self.script.queue_positions
        if not positions:
            return 1
        fraction = (now - self.submitted_at) / self.script.queue_seconds
        return positions[min(int(fraction * len(positions)), len(positions) - 1)]

    def mark_seen(self, now: float) -> None:
        """Record that a GET answered at `now`; notes the first terminal report."""
        self.polls += 1
        if self.first_seen_terminal_at is None and self.is_terminal_at(now):
            self.first_seen_terminal_at = now


def peak_in_flight(jobs: Iterable[SimJob]) -> int:
    """The most jobs that were at the provider at once: submitted and not yet at their end
    (done, failed or cancelled), on the simulated clock. This is what a provider account's
    concurrency limit counts; a job that ends at the instant another is submitted does not
    overlap it."""
    edges = sorted(
        edge for job in jobs for edge in ((job.submitted_at, 1), (job.completed_at, -1))
    )  # at equal times an end (-1) sorts before a start (+1)
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


@dataclass(frozen=True)
class Route:
    """What a request is: its kind and the model id, job id or file name in its path."""

    kind: RequestKind
    arg: str = ""


@dataclass(frozen=True)
class Incoming:
    """A request as the flavor handlers see it."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any
    json_ok: bool
    """False when the body is empty or not valid JSON."""
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    """An answer to send; rendered to HTTP by the server."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream_size: int | None = None
    """Send a generated MP4 of this many bytes (streamed) instead of `body`."""
    on_sent: Callable[[], None] | None = None
    """Called when the answer is actually sent (not when a fault drops it)."""

    @classmethod
    def of_json(cls, status: int, obj: Any, *, on_sent: Callable[[], None] | None = None) -> Reply:
        return cls(
            status=status,
            body=jsonlib.dumps(obj, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            on_sent=on_sent,
        )


class SimCore(Protocol):
    """What the flavor handlers need from the simulator."""

    @property
    def base_url(self) -> str: ...

    @property
    def jobs(self) -> dict[str, SimJob]: ...

    def now(self) -> float: ...

    def iso(self, sim_time: float) -> str: ...

    def check_auth(self, headers: Mapping[str, str]) -> AuthResult: ...

    def create_job(self, job_id: str, model_id: str, body: Any) -> SimJob: ...

    def video_url(self, job: SimJob) -> str: ...

    @property
    def webhook_secret(self) -> str: ...


class FlavorHandler(Protocol):
    """One provider's wire protocol."""

    def classify(self, method: str, path: str) -> Route: ...

    def handle(self, route: Route, incoming: Incoming) -> Reply: ...

    def error_body(self, status: int) -> Any:
        """The protocol's default error body for an HTTP status (used by faults without a body)."""
        ...
