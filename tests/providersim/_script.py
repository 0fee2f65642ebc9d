"""What the simulator is told to do: job timelines (`JobScript`) and injected answers (`Fault`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["post", "status", "result", "cancel", "file", "any"]
Outcome = Literal["completed", "failed", "cancelled"]
DropMode = Literal["before", "after", "mid"]

_FAULT_KINDS: frozenset[str] = frozenset({"post", "status", "result", "cancel", "file", "any"})
_OUTCOMES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
_DROPS: frozenset[str | None] = frozenset({None, "before", "after", "mid"})

# An ISO BMFF `ftyp` box (24 bytes): major brand mp42, compatible brands mp42 + isom.
_FTYP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
MIN_MP4_SIZE = 12  # enough for bytes 4..8 to read b"ftyp"


def mp4_prefix(total: int) -> bytes:
    """The first bytes of a `total`-byte fake MP4: an `ftyp` box, then an `mdat` box header.

    The rest of the file is zeros (the `mdat` payload). A `total` of 4 GiB or more gets an
    `mdat` size of 0, which ISO BMFF defines as "runs to the end of the file".
    """
    if total < MIN_MP4_SIZE:
        raise ValueError(f"an mp4 needs at least {MIN_MP4_SIZE} bytes, got {total}")
    if total < len(_FTYP) + 8:
        return _FTYP[:total]
    mdat_size = total - len(_FTYP)
    size_field = mdat_size if mdat_size < 2**32 else 0
    return _FTYP + size_field.to_bytes(4, "big") + b"mdat"


def tiny_mp4(size: int = 64) -> bytes:
    """A small valid-looking MP4 of exactly `size` bytes (`data[4:8] == b"ftyp"`)."""
    prefix = mp4_prefix(size)
    return prefix + bytes(size - len(prefix))


@dataclass
class JobScript:
    """How one submitted job behaves over time. Durations are simulated seconds."""

    queue_seconds: float = 0.0
    """Time spent queued (RunComfy `in_queue`, WaveSpeed `created`)."""
    queue_positions: list[int] = field(default_factory=list)
    """RunComfy queue positions reported across the queue time, evenly spaced ([3, 2, 1]).
    Empty: position 1 throughout."""
    run_seconds: float = 0.0
    """Time spent running (RunComfy `in_progress`, WaveSpeed `processing`)."""
    outcome: Outcome = "completed"
    error: Any = None
    """For `failed`: RunComfy's opaque `error` JSON (default {"message": "generation failed"}),
    WaveSpeed's `data.error` string (default "generation failed")."""
    video: bytes | None = None
    """Result file bytes; default `tiny_mp4()`."""
    video_size: int | None = None
    """Serve a generated MP4 of this many bytes instead, streamed and never held in memory."""
    content_type: str = "video/mp4"
    result_status: int = 200
    """HTTP status the result file URL answers with (404 simulates an expired file)."""
    nsfw: bool = False
    """WaveSpeed `has_nsfw_contents` entry for the output."""
    video_url: str | None = None
    """Report this output URL instead of the simulator's own file URL."""

    def __post_init__(self) -> None:
        if self.queue_seconds < 0 or self.run_seconds < 0:
            raise ValueError("durations must be >= 0")
        if any(p < 0 for p in self.queue_positions):
            raise ValueError("queue positions must be >= 0")
        if self.outcome not in _OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        if self.video is not None and self.video_size is not None:
            raise ValueError("give either video or video_size, not both")
        if self.video_size is not None and self.video_size < MIN_MP4_SIZE:
            raise ValueError(f"video_size must be >= {MIN_MP4_SIZE}")

    @property
    def terminal_after(self) -> float:
        """Simulated seconds from submission until the job reaches its outcome."""
        return self.queue_seconds + self.run_seconds


# RunComfy: default HTTP status and message for each documented six-digit error code.
_RUNCOMFY_CODES: dict[int, tuple[int, str]] = {
    400001: (400, "Invalid model id"),
    400002: (402, "Insufficient balance"),
    400004: (400, "Invalid or revoked token"),
    401001: (401, "Unauthorized"),
    403001: (403, "Permission denied"),
    404001: (404, "Request not found or expired"),
    422001: (422, "Validation error"),
    500001: (500, "Internal server error"),
}

# WaveSpeed: messages for the documented task codes.
_WAVESPEED_CODES: dict[int, str] = {
    1200: "content moderation: the input was flagged",
    1400: "invalid parameters",
    1401: "invalid parameters",
    1402: "input media could not be fetched",
    1403: "task failed",
    1405: "task failed",
    5000: "internal server error",
    5003: "service unavailable",
    5004: "gateway timeout",
}


def _wavespeed_http_status(code: int) -> int:
    if 100 <= code <= 599:
        return code
    if 5000 <= code <= 5999:
        return 500
    return 400


@dataclass
class Fault:
    """An injected answer for matching requests, consumed `times` times, matched in queue order.

    `kind`: "post" is a submit, "status"/"result"/"cancel" the RunComfy request endpoints,
    "file" a GET or HEAD of a result file, "any" every request. WaveSpeed's one poll GET is a
    "result"; a POST to its (nonexistent) `/predictions/{id}/cancel` is a "cancel".

    Semantics, applied before any normal handling (authentication included):

    * `delay` (real seconds) is always waited first.
    * `drop="before"`: the connection is closed without any response; nothing else happens.
    * `drop="after"`: the request is handled normally (a submit creates and counts its job, a
      cancel cancels) and then the connection is closed without any response.
    * `drop="mid"`: the response (normal, or `body`/`raw` if given) starts with its full
      Content-Length, but the connection is closed after half of the body.
    * Otherwise, if `body` or `raw` is given, or `http_status` is neither None nor 200, that answer
      replaces the normal one: status `http_status` (200 if None), body `raw`, else JSON `body`,
      else the protocol's default error body for that status. A 429 gets `Retry-After: 1` unless
      `headers` sets Retry-After (an empty value omits the header).
    * Otherwise (`http_status` None or 200, no body): the normal answer, after `delay`.

    `headers` are added to whatever answer is sent.
    """

    kind: FaultKind
    http_status: int | None = 500
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: DropMode | None = None
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.drop not in _DROPS:
            raise ValueError(f"unknown drop mode {self.drop!r}")
        if self.times < 1:
            raise ValueError("times must be >= 1")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")

    @property
    def replaces_answer(self) -> bool:
        """Whether this fault sends its own answer instead of the normal one."""
        if self.body is not None or self.raw is not None:
            return True
        return self.drop is None and self.http_status not in (None, 200)

    @classmethod
    def runcomfy(
        cls,
        error_code: int,
        *,
        kind: FaultKind = "post",
        http_status: int | None = None,
        message: str | None = None,
        detail: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> Fault:
        """A RunComfy error body `{"error_code", "message", "detail"?}`.

        `http_status` defaults to the code's usual status (400002 -> 402, 422001 -> 422, ...);
        pass 400 or 200 to simulate the other documented ways of sending the same code.
        """
        default_status, default_message = _RUNCOMFY_CODES.get(
            error_code, (error_code // 1000, "Error")
        )
        body: dict[str, Any] = {"error_code": error_code, "message": message or default_message}
        if detail is not None:
            body["detail"] = detail
        return cls(
            kind=kind,
            http_status=default_status if http_status is None else http_status,
            body=body,
            headers=dict(headers or {}),
            delay=delay,
            times=times,
        )

    @classmethod
    def wavespeed(
        cls,
        code: int,
        *,
        kind: FaultKind = "post",
        http_status: int | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> Fault:
        """A WaveSpeed error envelope `{"code", "message", "data": null}`.

        `http_status` defaults to 400 for 1xxx task codes and 500 for 5xxx; 200 is allowed.
        """
        return cls(
            kind=kind,
            http_status=_wavespeed_http_status(code) if http_status is None else http_status,
            body={
                "code": code,
                "message": message or _WAVESPEED_CODES.get(code, "error"),
                "data": None,
            },
            headers=dict(headers or {}),
            delay=delay,
            times=times,
        )
