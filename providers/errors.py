"""The provider error tree.

Every error carries a message fit for an admin (never a secret), whether retrying the same call
may help (`retryable`), and whether the member should get their quota back (`refundable`): the
job runner settles a submit that failed with a non-refundable error as UNKNOWN (an admin
decides), never as FAILED (refunded).
"""

from __future__ import annotations

from typing import Any, ClassVar

MAX_MESSAGE_CHARS = 300


class ProviderError(Exception):
    """Base class. `provider` is a display label such as "RunComfy"."""

    retryable: ClassVar[bool] = False
    refundable: ClassVar[bool] = True
    summary: ClassVar[str] = "the provider returned an error"

    def __init__(
        self,
        detail: str = "",
        *,
        provider: str,
        http_status: int | None = None,
        code: int | str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        # Kept whole so a redaction can find a secret anywhere in it; clipped when shown.
        self.detail = " ".join(detail.split())
        self.http_status = http_status
        self.code = code
        self.retry_after = retry_after
        super().__init__(self.admin_message)

    @property
    def admin_message(self) -> str:
        parts = [f"{self.provider}: {self.summary}"]
        meta = []
        if self.http_status is not None:
            meta.append(f"HTTP {self.http_status}")
        if self.code is not None:
            meta.append(f"code {self.code}")
        if meta:
            parts.append(f" ({', '.join(meta)})")
        if self.detail:
            parts.append(f": {_clip(self.detail)}")
        return "".join(parts)


class AuthenticationError(ProviderError):
    summary = "the API key was refused (missing, wrong or revoked)"


class PermissionDenied(ProviderError):
    summary = "the API key may not use this model"


class InsufficientCredit(ProviderError):
    summary = "the account has insufficient credit"


class InvalidRequest(ProviderError):
    summary = "the provider rejected the request's parameters"

    def __init__(self, detail: str = "", *, errors: list[Any] | None = None, **kw: Any) -> None:
        self.errors = errors or []
        super().__init__(detail, **kw)


class InputNotFetchable(ProviderError):
    summary = "the provider could not fetch the input image"


class ContentModerated(ProviderError):
    summary = "the provider's content moderation refused the job"


class TaskFailed(ProviderError):
    summary = "the provider could not run the job"


class JobNotFound(ProviderError):
    summary = "the provider does not know this job (unknown or expired id)"


class RateLimited(ProviderError):
    retryable = True
    summary = "rate limited"


class TransientError(ProviderError):
    retryable = True
    summary = "temporary provider or network failure"


class SubmitNotSent(TransientError):
    """The submit never left this machine (no connection was made): no job exists, so it may
    be sent again."""

    summary = "could not reach the provider; nothing was submitted"


class UnexpectedResponse(ProviderError):
    """An answer that does not follow the documented protocol (malformed JSON, missing fields)."""

    retryable = True
    summary = "unexpected response"


class SubmitOutcomeUnknown(ProviderError):
    """The submit was sent but its answer was lost: a job may exist and may be charged.

    Never resubmitted automatically and never refunded automatically.
    """

    refundable = False
    summary = "the submit's outcome is unknown (a job may have been created)"


class UnsupportedOption(ProviderError):
    """The request asks for something this provider cannot do. Raised before any HTTP call."""

    summary = "unsupported option"

    def __init__(
        self,
        detail: str,
        *,
        provider: str,
        option: str,
        value: object,
        accepted: tuple[object, ...],
    ) -> None:
        self.option = option
        self.value = value
        self.accepted = accepted
        super().__init__(detail, provider=provider)

    @property
    def admin_message(self) -> str:
        return _clip(self.detail)


class UnsafeURL(ProviderError):
    """A URL we were asked to send to a provider or to download is not allowed."""

    summary = "URL refused"


class DownloadFailed(ProviderError):
    summary = "the result could not be downloaded"


class DownloadTooLarge(DownloadFailed):
    summary = "the result is larger than the download limit"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_MESSAGE_CHARS:
        return text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text
