"""The `Provider` protocol and the HTTP plumbing the two clients share."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import SecretStr

from providers.capabilities import Capabilities
from providers.errors import (
    ProviderError,
    SubmitNotSent,
    SubmitOutcomeUnknown,
    TransientError,
    UnexpectedResponse,
    _clip,
)
from providers.models import (
    CancelOutcome,
    Failed,
    JobUpdate,
    Mode,
    ProviderName,
    ResolvedOptions,
)
from providers.models import VideoRequest as VideoRequest
from providers.retry import RetryPolicy, Sleep, with_retries
from providers.urls import check_url

log = logging.getLogger(__name__)

# Errors raised before a single byte of the request reached the provider: safe to report as
# "not submitted". Everything else after sending may have created a paid job.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class Provider(Protocol):
    """One hosted video provider. Implementations live one per file in `providers/`."""

    name: ProviderName

    @property
    def label(self) -> str: ...

    def capabilities(self, mode: Mode) -> Capabilities: ...

    def resolve(self, request: VideoRequest) -> ResolvedOptions:
        """Apply defaults and refuse unsupported options or URLs, before any HTTP call."""
        ...

    async def submit(self, request: VideoRequest) -> str:
        """Send the paid submit exactly once and return the provider's job id."""
        ...

    async def poll(self, job_id: str) -> JobUpdate | None:
        """One status check (its GETs retried when safe).

        None means the provider reported a state we do not know: it is logged; ask again later.
        """
        ...

    async def cancel(self, job_id: str) -> CancelOutcome: ...


class HostedProvider:
    """What both hosted providers share: their JSON API, their capabilities table, and the
    check of an image URL before it is handed over. Subclasses set the class attributes."""

    name: ProviderName
    default_base_url: ClassVar[str]
    capability_table: ClassVar[dict[Mode, Capabilities]]

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        api_key: SecretStr,
        base_url: str | None = None,
        allow_loopback_urls: bool = False,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._api = JsonApi(
            client=client,
            base_url=base_url or self.default_base_url,
            api_key=api_key,
            label=self.label,
            classify=self.classify,
            retry=retry or RetryPolicy(),
            sleep=sleep,
        )
        self._allow_loopback = allow_loopback_urls

    @staticmethod
    def classify(response: httpx.Response, payload: Any) -> ProviderError | None:
        raise NotImplementedError

    @property
    def label(self) -> str:
        return self.name.label

    def capabilities(self, mode: Mode) -> Capabilities:
        return self.capability_table[mode]

    def resolve(self, request: VideoRequest) -> ResolvedOptions:
        options = self.capability_table[request.mode].resolve(request, provider=self.label)
        if request.image_url is not None:
            check_url(
                request.image_url,
                allow_loopback=self._allow_loopback,
                provider=self.label,
                what="the image URL",
            )
        return options


class JsonApi:
    """Authenticated JSON calls to one provider: one submit, retried GETs, errors mapped."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: SecretStr,
        label: str,
        classify: Callable[[httpx.Response, Any], ProviderError | None],
        retry: RetryPolicy,
        sleep: Sleep,
    ) -> None:
        self._client = client
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.label = label
        self._classify = classify
        self._retry = retry
        self._sleep = sleep

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Accept": "application/json",
        }

    def redact(self, text: str) -> str:
        secret = self._api_key.get_secret_value()
        return text.replace(secret, "[redacted]") if secret else text

    def clean(self, update: JobUpdate | None) -> JobUpdate | None:
        """A provider's failure reason is shown to members and admins: no secret, bounded."""
        if isinstance(update, Failed):
            reason = _clip(self.redact(update.reason))
            return Failed(reason=reason, moderated=update.moderated)
        return update

    async def submit(self, path: str, body: dict[str, Any]) -> Any:
        """POST once. Never retried here: a lost answer becomes `SubmitOutcomeUnknown`; a
        request that never left becomes `SubmitNotSent` and a 429 `RateLimited`, which the
        caller may send again because no job was created."""
        url = self.base_url + path
        try:
            response = await self._client.post(url, json=body, headers=self._headers())
        except _NOT_SENT as error:
            raise SubmitNotSent(type(error).__name__, provider=self.label) from error
        except httpx.TransportError as error:
            raise SubmitOutcomeUnknown(
                f"the connection failed after the request was sent ({type(error).__name__})",
                provider=self.label,
            ) from error
        if response.status_code in (502, 504):
            # A gateway between us and the provider gave up; the provider may have the job.
            raise SubmitOutcomeUnknown(
                "a gateway answered instead of the provider",
                provider=self.label,
                http_status=response.status_code,
            )
        try:
            return self._decode(response)
        except UnexpectedResponse as error:
            if response.is_success:
                raise SubmitOutcomeUnknown(
                    f"the submit was accepted but its answer was unreadable: {error.detail}",
                    provider=self.label,
                    http_status=response.status_code,
                ) from error
            raise TransientError(
                "the provider failed with an unreadable error",
                provider=self.label,
                http_status=response.status_code,
            ) from error

    async def get(self, path: str, *, what: str) -> Any:
        """GET with retries on 429, 5xx, transport errors and unreadable answers."""
        return await self._retried("GET", path, what=what)

    async def post_once(self, path: str, *, what: str) -> Any:
        """An idempotent POST with no body (cancel): retried like a GET."""
        return await self._retried("POST", path, what=what)

    async def _retried(self, method: str, path: str, *, what: str) -> Any:
        url = self.base_url + path

        async def once() -> Any:
            try:
                response = await self._client.request(method, url, headers=self._headers())
            except httpx.TransportError as error:
                raise TransientError(
                    f"network error ({type(error).__name__})", provider=self.label
                ) from error
            return self._decode(response)

        return await with_retries(once, policy=self._retry, what=what, sleep=self._sleep)

    def _decode(self, response: httpx.Response) -> Any:
        payload: Any
        try:
            payload = json.loads(response.content) if response.content else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = _UNREADABLE
        error = self._classify(response, None if payload is _UNREADABLE else payload)
        if error is not None:
            # Provider messages are shown to admins: never let one echo the key back.
            error.detail = self.redact(error.detail)
            error.args = (error.admin_message,)
            raise error
        if payload is _UNREADABLE or not isinstance(payload, dict):
            raise UnexpectedResponse(
                "the answer is not a JSON object",
                provider=self.label,
                http_status=response.status_code,
            )
        return payload


_UNREADABLE: Any = object()


def error_text(payload: Any, *keys: str) -> str:
    """The first string field among `keys` of a JSON error body, for an admin message."""
    if isinstance(payload, dict):
        for key in keys:
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value
    return ""
