"""WaveSpeedAI v3 client for ByteDance Dreamina 3.0 Pro.

Everything WaveSpeed-specific lives here: the `{code, message, data}` envelope, model ids,
field names, status spellings and task codes.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from providers.base import HostedProvider, error_text
from providers.capabilities import Capabilities
from providers.errors import (
    AuthenticationError,
    ContentModerated,
    InputNotFetchable,
    InsufficientCredit,
    InvalidRequest,
    JobNotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TaskFailed,
    TransientError,
    UnexpectedResponse,
)
from providers.models import (
    ASPECT_RATIOS,
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

DEFAULT_BASE_URL = "https://api.wavespeed.ai"


class WaveSpeedSettings(BaseSettings):
    """WaveSpeedAI's keys, read from the environment or `.env` by the bot's settings."""

    wavespeed_api_key: ApiKey = None
    wavespeed_base_url: BaseUrl = DEFAULT_BASE_URL
    wavespeed_price_per_unit: PricePerUnit = None

    def wavespeed_config(self) -> ProviderConfig | None:
        return config_of(self.wavespeed_api_key, self.wavespeed_base_url)


TEXT_MODEL = "bytedance/dreamina-v3.0-pro/text-to-video"
IMAGE_MODEL = "bytedance/dreamina-v3.0-pro/image-to-video"

# Dreamina 3.0 Pro on WaveSpeed takes no duration or resolution: it makes ~5 s 1080P clips.
CAPABILITIES = {
    Mode.TEXT: Capabilities(aspect_ratios=ASPECT_RATIOS, durations=(5,), resolutions=("1080P",)),
    Mode.IMAGE: Capabilities(aspect_ratios=ASPECT_RATIOS, durations=(5,), resolutions=("1080P",)),
}

_ERRORS: dict[int, type[ProviderError]] = {
    1200: ContentModerated,
    1400: InvalidRequest,
    1401: InvalidRequest,
    1402: InputNotFetchable,
    1403: TaskFailed,
    1405: TaskFailed,
    5000: TransientError,
    5003: TransientError,
    5004: TransientError,
}
# Task codes that mean the job itself ended (seen on a result GET): a final failure, not an error.
_JOB_ENDING = (ContentModerated, InputNotFetchable, TaskFailed)


def build_body(request: VideoRequest, options: ResolvedOptions) -> dict[str, Any]:
    """The exact JSON WaveSpeed expects for this request."""
    body: dict[str, Any] = {"prompt": request.prompt}
    if request.mode is Mode.IMAGE:
        body["image"] = request.image_url
    if request.mode is Mode.TEXT or request.aspect_ratio is not None:
        body["aspect_ratio"] = options.aspect_ratio
    body["seed"] = request.seed
    return body


def classify(response: httpx.Response, payload: Any) -> ProviderError | None:
    """Map an answer to an error, or None when it is a normal answer."""
    label = ProviderName.WAVESPEED.label
    status = response.status_code
    code = payload.get("code") if isinstance(payload, dict) else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    if status < 400 and code in (None, 200):
        return None
    message = error_text(payload, "message", "error")
    common: dict[str, Any] = {"provider": label, "http_status": status, "code": code}
    if code in _ERRORS:
        return _ERRORS[code](message, **common)
    if status == 429 or code == 429:
        return RateLimited(
            message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **common
        )
    if status == 401 or code == 401:
        return AuthenticationError(message, **common)
    if status == 402 or code == 402 or "insufficient" in message.lower():
        return InsufficientCredit(message, **common)
    if status == 403 or code == 403:
        return PermissionDenied(message, **common)
    if status == 404 or code == 404:
        return JobNotFound(message, **common)
    if status >= 500 or (code is not None and code >= 500):
        return TransientError(message, **common)
    return InvalidRequest(message, **common)


def parse_data(data: dict[str, Any]) -> JobUpdate | None:
    """One place that reads WaveSpeed's `data` object."""
    match data.get("status"):
        case "created":
            return Queued(position=None)
        case "processing":
            return Running()
        case "completed":
            outputs = data.get("outputs")
            if not isinstance(outputs, list) or not outputs or not isinstance(outputs[0], str):
                return Failed(reason="the provider finished without a video")
            flags = data.get("has_nsfw_contents")
            nsfw = isinstance(flags, list) and bool(flags) and bool(flags[0])
            return Succeeded(
                video_url=outputs[0], nsfw=nsfw, inference_seconds=_inference_seconds(data)
            )
        case "failed":
            error = data.get("error")
            reason = error if isinstance(error, str) and error else "the provider gave no reason"
            return Failed(reason=reason)
        case "cancelled":
            return Cancelled()
        case "timeout":
            return Failed(reason="the provider timed out running the job")
        case _:
            return None


class WaveSpeed(HostedProvider):
    """WaveSpeedAI v3: submit under `/api/v3/{model}`, poll `/api/v3/predictions/{id}/result`."""

    name = ProviderName.WAVESPEED
    default_base_url = DEFAULT_BASE_URL
    capability_table = CAPABILITIES
    classify = staticmethod(classify)

    def __init__(self, *, webhook_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # With a public callback URL, WaveSpeed POSTs there when a job ends (PROVIDERS.md).
        self.webhook_url = webhook_url

    def resolve(self, request: VideoRequest) -> ResolvedOptions:
        options = super().resolve(request)
        if request.mode is Mode.IMAGE and request.aspect_ratio is None:
            # Not sent: the provider picks the shape.
            options = ResolvedOptions(
                aspect_ratio=None, duration=options.duration, resolution=options.resolution
            )
        return options

    async def submit(self, request: VideoRequest) -> str:
        body = build_body(request, self.resolve(request))
        model = TEXT_MODEL if request.mode is Mode.TEXT else IMAGE_MODEL
        path = f"/api/v3/{model}"
        if self.webhook_url:
            path += "?webhook=" + quote(self.webhook_url, safe="")
        payload = await self._api.submit(path, body)
        data = payload.get("data")
        job_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise UnexpectedResponse("the submit answer has no data.id", provider=self.label)
        return job_id

    async def poll(self, job_id: str) -> JobUpdate | None:
        if not job_id or not all(c.isalnum() or c in "-_" for c in job_id):
            raise UnexpectedResponse("malformed job id", provider=self.label)
        try:
            payload = await self._api.get(
                f"/api/v3/predictions/{job_id}/result", what=f"wavespeed {job_id} result"
            )
        except _JOB_ENDING as error:
            return self._api.clean(
                Failed(
                    reason=error.detail or error.summary,
                    moderated=isinstance(error, ContentModerated),
                )
            )
        data = payload.get("data")
        if not isinstance(data, dict):
            raise UnexpectedResponse("the result answer has no data object", provider=self.label)
        update = self._api.clean(parse_data(data))
        if update is None:
            log.warning("wavespeed job %s: unknown status %r", job_id, data.get("status"))
        return update

    async def webhook_secret(self) -> SecretStr:
        """The key callbacks are signed with (`GET /api/v3/webhook/secret`, "whsec_..."): kept
        as a SecretStr, never logged."""
        payload = await self._api.get("/api/v3/webhook/secret", what="wavespeed webhook secret")
        data = payload.get("data")
        secret = data.get("secret") if isinstance(data, dict) else data
        if not isinstance(secret, str) or not secret:
            raise UnexpectedResponse("the webhook secret answer has no secret", provider=self.label)
        return SecretStr(secret)

    async def cancel(self, job_id: str) -> CancelOutcome:
        # WaveSpeed documents no cancel endpoint.
        return CancelOutcome.UNSUPPORTED


def _inference_seconds(data: dict[str, Any]) -> float | None:
    timings = data.get("timings")
    if isinstance(timings, dict):
        value = timings.get("inference")
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return value / 1000.0
    return None
