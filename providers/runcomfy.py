"""RunComfy Model API client for ByteDance Dreamina 3.0.

Everything RunComfy-specific lives here: paths, model ids, field names, the aspect strings with
U+00D7, status spellings and error codes.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import httpx
from pydantic_settings import BaseSettings

from providers.base import HostedProvider, error_text
from providers.capabilities import Capabilities
from providers.errors import (
    AuthenticationError,
    InsufficientCredit,
    InvalidRequest,
    JobNotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    UnexpectedResponse,
)
from providers.models import (
    Cancelled,
    CancelOutcome,
    Failed,
    JobUpdate,
    Mode,
    ProviderName,
    Queued,
    ResolvedOptions,
    Running,
    Succeeded,
    VideoRequest,
)
from providers.retry import parse_retry_after
from providers.settings import ApiKey, BaseUrl, PricePerUnit, ProviderConfig, config_of

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://model-api.runcomfy.net"


class RunComfySettings(BaseSettings):
    """RunComfy's keys, read from the environment or `.env` by the bot's settings."""

    runcomfy_api_key: ApiKey = None
    runcomfy_base_url: BaseUrl = DEFAULT_BASE_URL
    runcomfy_price_per_unit: PricePerUnit = None

    def runcomfy_config(self) -> ProviderConfig | None:
        return config_of(self.runcomfy_api_key, self.runcomfy_base_url)


TEXT_MODEL = "bytedance/dreamina-3-0/pro/text-to-video"
IMAGE_MODEL = "bytedance/dreamina-3-0/image-to-video"

# RunComfy's enum spells the size out; the "×" is U+00D7 MULTIPLICATION SIGN.
ASPECT_WIRE: dict[str, str] = {
    "16:9": "1920\u00d71088(16:9)",
    "4:3": "1664\u00d71248(4:3)",
    "1:1": "1440\u00d71440(1:1)",
    "3:4": "1248\u00d71664(3:4)",
    "9:16": "1088\u00d71920(9:16)",
    "21:9": "2176\u00d7928(21:9)",
}
FRAMES = {5: 121, 10: 241}

CAPABILITIES = {
    # Text-to-video has no resolution field: its sizes are all 1080-class.
    Mode.TEXT: Capabilities(
        aspect_ratios=("16:9", "4:3", "1:1", "3:4", "9:16", "21:9"),
        durations=(5, 10),
        resolutions=("1080P",),
    ),
    # Image-to-video follows the image's shape: no aspect ratio.
    Mode.IMAGE: Capabilities(aspect_ratios=(), durations=(5, 10), resolutions=("720P", "1080P")),
}

_BALANCE = 400002
_AUTH_CODES = {400004, 401001}


def build_body(request: VideoRequest, options: ResolvedOptions) -> dict[str, Any]:
    """The exact JSON RunComfy expects for this request."""
    if request.mode is Mode.TEXT:
        assert options.aspect_ratio is not None  # noqa: S101 - text mode always resolves one
        return {
            "prompt": request.prompt,
            "aspect_ratio": ASPECT_WIRE[options.aspect_ratio],
            "frames": FRAMES[options.duration],
            "seed": request.seed,
        }
    return {
        "image_urls": [request.image_url],
        "prompt": request.prompt,
        "number_of_frames": FRAMES[options.duration],
        "resolution": options.resolution,
        "seed": request.seed,
    }


def classify(response: httpx.Response, payload: Any) -> ProviderError | None:
    """Map an answer to an error, or None when it is a normal answer."""
    label = ProviderName.RUNCOMFY.label
    status = response.status_code
    code = _error_code(payload)
    if status < 400 and code is None:
        return None
    message = error_text(payload, "message", "error", "detail")
    common: dict[str, Any] = {"provider": label, "http_status": status, "code": code}
    if status == 429:
        return RateLimited(
            message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **common
        )
    if code in _AUTH_CODES or status == 401:
        return AuthenticationError(message, **common)
    if code == _BALANCE or status == 402:
        return InsufficientCredit(message, **common)
    if code == 403001 or status == 403:
        return PermissionDenied(message, **common)
    if code == 404001 or status == 404:
        return JobNotFound(message, **common)
    if code == 422001 or status == 422:
        errors = payload.get("detail") if isinstance(payload, dict) else None
        errors = errors if isinstance(errors, list) else []
        return InvalidRequest(_describe_validation(errors) or message, errors=errors, **common)
    if code == 400001:
        return InvalidRequest(message or "unknown model id", **common)
    if status >= 500 or code == 500001:
        return TransientError(message, **common)
    return InvalidRequest(message, **common)


def parse_status(payload: dict[str, Any]) -> JobUpdate | Literal["completed", "failed"] | None:
    """One place that reads RunComfy's state. Returns an update, the string "completed" or
    "failed" when the result must be fetched, or None for a state we do not know."""
    status = payload.get("status")
    match status:
        case "in_queue":
            position = payload.get("queue_position")
            return Queued(position=position if isinstance(position, int) else None)
        case "in_progress":
            return Running()
        case "cancelled":
            return Cancelled()
        case "completed":
            return "completed"
        case "failed":
            return "failed"
        case _:
            return None


def parse_result(payload: dict[str, Any]) -> JobUpdate | None:
    status = parse_status(payload)
    if status == "completed":
        output = payload.get("output")
        url = _video_url(output if isinstance(output, dict) else {})
        if url is None:
            return Failed(reason="the provider finished without a video")
        return Succeeded(video_url=url, inference_seconds=None)
    if status == "failed":
        return Failed(reason=_failure_reason(payload.get("error")))
    return status


class RunComfy(HostedProvider):
    """RunComfy Model API: submit, status, result and cancel under `/v1`."""

    name = ProviderName.RUNCOMFY
    default_base_url = DEFAULT_BASE_URL
    capability_table = CAPABILITIES
    classify = staticmethod(classify)

    async def submit(self, request: VideoRequest) -> str:
        body = build_body(request, self.resolve(request))
        model = TEXT_MODEL if request.mode is Mode.TEXT else IMAGE_MODEL
        payload = await self._api.submit(f"/v1/models/{model}", body)
        job_id = payload.get("request_id")
        if not isinstance(job_id, str) or not job_id:
            raise UnexpectedResponse("the submit answer has no request_id", provider=self.label)
        return job_id

    async def poll(self, job_id: str) -> JobUpdate | None:
        payload = await self._api.get(
            f"/v1/requests/{_safe(job_id)}/status", what=f"runcomfy {job_id} status"
        )
        update = parse_status(payload)
        if isinstance(update, str):
            result = await self._api.get(
                f"/v1/requests/{_safe(job_id)}/result", what=f"runcomfy {job_id} result"
            )
            return self._api.clean(parse_result(result))
        if update is None:
            log.warning("runcomfy job %s: unknown status %r", job_id, payload.get("status"))
        return update

    async def cancel(self, job_id: str) -> CancelOutcome:
        payload = await self._api.post_once(
            f"/v1/requests/{_safe(job_id)}/cancel", what=f"runcomfy {job_id} cancel"
        )
        outcome = payload.get("outcome")
        if outcome == "cancelled" or payload.get("status") == "cancelled":
            return CancelOutcome.CANCELLED
        return CancelOutcome.NOT_CANCELLABLE


def _safe(job_id: str) -> str:
    """Job ids go into a path: refuse anything that could change the route."""
    if not job_id or not all(c.isalnum() or c in "-_" for c in job_id):
        raise UnexpectedResponse("malformed job id", provider=ProviderName.RUNCOMFY.label)
    return job_id


def _error_code(payload: Any) -> int | None:
    if not isinstance(payload, dict):
        return None
    raw = payload.get("error_code")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None


def _video_url(output: dict[str, Any]) -> str | None:
    video = output.get("video")
    if isinstance(video, str) and video:
        return video
    videos = output.get("videos")
    if isinstance(videos, list) and videos and isinstance(videos[0], str):
        return videos[0]
    return None


def _failure_reason(error: Any) -> str:
    if isinstance(error, str) and error:
        return error
    if isinstance(error, dict):
        text = error_text(error, "message", "error", "detail", "reason")
        if text:
            return text
    if error:
        return json.dumps(error, ensure_ascii=False)[:300]
    return "the provider reported a failure without a reason"


def _describe_validation(errors: list[Any]) -> str:
    parts = []
    for item in errors[:5]:
        if isinstance(item, dict):
            loc = item.get("loc")
            where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
            msg = item.get("msg", "")
            parts.append(f"{where}: {msg}" if where else str(msg))
    return "; ".join(parts)
