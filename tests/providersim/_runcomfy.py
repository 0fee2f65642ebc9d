"""RunComfy Model API: routes, pydantic-style validation and response bodies."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from ._model import Incoming, Reply, Route, SimCore, SimJob

TEXT_TO_VIDEO = "bytedance/dreamina-3-0/pro/text-to-video"
IMAGE_TO_VIDEO = "bytedance/dreamina-3-0/image-to-video"
# The image-to-video input schema (docs/PROVIDERS.md; the model page's "Input schema", seeds
# 001): `"validation_rule": "file_size_mb<", "validation_value": 4.7`, answered with this
# error. Megabytes of 1,000,000 bytes, the stricter reading.
IMAGE_MAX_BYTES = 4_700_000
IMAGE_TOO_LARGE = "File size must be less than 4.7 MB."

ASPECT_RATIOS: tuple[str, ...] = (
    "1920\u00d71088(16:9)",
    "1664\u00d71248(4:3)",
    "1440\u00d71440(1:1)",
    "1248\u00d71664(3:4)",
    "1088\u00d71920(9:16)",
    "2176\u00d7928(21:9)",
)
FRAMES: tuple[int, ...] = (121, 241)
RESOLUTIONS: tuple[str, ...] = ("720P", "1080P")
PROMPT_MAX = 800

_SUBMIT = re.compile(r"/v1/models/(?P<arg>.+)")
_REQUEST = re.compile(r"/v1/requests/(?P<arg>[^/]+)/(?P<op>status|result|cancel)")

ErrorList = list[dict[str, Any]]


def _error(status: int, code: int, message: str, detail: ErrorList | None = None) -> Reply:
    body: dict[str, Any] = {"error_code": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return Reply.of_json(status, body)


def _issue(field: str | int, kind: str, msg: str, value: Any, **ctx: Any) -> dict[str, Any]:
    loc: list[str | int] = ["body"] if field == "" else ["body", field]
    issue: dict[str, Any] = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx:
        issue["ctx"] = ctx
    return issue


def _literal_msg(allowed: tuple[str, ...] | tuple[int, ...]) -> str:
    shown = [repr(a) if isinstance(a, str) else str(a) for a in allowed]
    return "Input should be " + ", ".join(shown[:-1]) + " or " + shown[-1]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_prompt(body: dict[str, Any], errors: ErrorList) -> None:
    if "prompt" not in body:
        errors.append(_issue("prompt", "missing", "Field required", body))
        return
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        errors.append(_issue("prompt", "string_type", "Input should be a valid string", prompt))
    elif len(prompt) > PROMPT_MAX:
        errors.append(
            _issue(
                "prompt",
                "string_too_long",
                f"String should have at most {PROMPT_MAX} characters",
                prompt,
                max_length=PROMPT_MAX,
            )
        )


def _check_literal(
    body: dict[str, Any],
    key: str,
    allowed: tuple[str, ...] | tuple[int, ...],
    errors: ErrorList,
) -> None:
    if key not in body:
        return
    value = body[key]
    ok = (
        isinstance(value, str) if isinstance(allowed[0], str) else _is_int(value)
    ) and value in allowed
    if not ok:
        errors.append(
            _issue(key, "literal_error", _literal_msg(allowed), value, expected=list(allowed))
        )


def _check_seed(body: dict[str, Any], errors: ErrorList) -> None:
    if "seed" in body and not _is_int(body["seed"]):
        errors.append(_issue("seed", "int_type", "Input should be a valid integer", body["seed"]))


def _check_extra(body: dict[str, Any], allowed: frozenset[str], errors: ErrorList) -> None:
    for key in body:
        if key not in allowed:
            errors.append(
                _issue(key, "extra_forbidden", "Extra inputs are not permitted", body[key])
            )


def _check_image_urls(body: dict[str, Any], errors: ErrorList) -> None:
    if "image_urls" not in body:
        errors.append(_issue("image_urls", "missing", "Field required", body))
        return
    urls = body["image_urls"]
    if not isinstance(urls, list):
        errors.append(_issue("image_urls", "list_type", "Input should be a valid list", urls))
        return
    if len(urls) < 1:
        errors.append(
            _issue(
                "image_urls",
                "too_short",
                "List should have at least 1 item after validation, not 0",
                urls,
                field_type="List",
                min_length=1,
                actual_length=0,
            )
        )
        return
    if len(urls) > 1:
        errors.append(
            _issue(
                "image_urls",
                "too_long",
                f"List should have at most 1 item after validation, not {len(urls)}",
                urls,
                field_type="List",
                max_length=1,
                actual_length=len(urls),
            )
        )
        return
    url = urls[0]
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        issue = _issue("image_urls", "url_parsing", "Input should be a valid URL", url)
        issue["loc"] = ["body", "image_urls", 0]
        errors.append(issue)


_T2V_KEYS = frozenset({"prompt", "aspect_ratio", "frames", "seed"})
_I2V_KEYS = frozenset({"image_urls", "prompt", "number_of_frames", "resolution", "seed"})


def validate_text_to_video(body: dict[str, Any]) -> ErrorList:
    errors: ErrorList = []
    _check_extra(body, _T2V_KEYS, errors)
    _check_prompt(body, errors)
    _check_literal(body, "aspect_ratio", ASPECT_RATIOS, errors)
    _check_literal(body, "frames", FRAMES, errors)
    _check_seed(body, errors)
    return errors


def validate_image_to_video(body: dict[str, Any]) -> ErrorList:
    errors: ErrorList = []
    _check_extra(body, _I2V_KEYS, errors)
    _check_image_urls(body, errors)
    _check_prompt(body, errors)
    _check_literal(body, "number_of_frames", FRAMES, errors)
    _check_literal(body, "resolution", RESOLUTIONS, errors)
    _check_seed(body, errors)
    return errors


MODELS: dict[str, Callable[[dict[str, Any]], ErrorList]] = {
    TEXT_TO_VIDEO: validate_text_to_video,
    IMAGE_TO_VIDEO: validate_image_to_video,
}


class RunComfyHandler:
    """Speaks RunComfy's Model API for one simulator."""

    def __init__(self, core: SimCore) -> None:
        self._core = core

    def classify(self, method: str, path: str) -> Route:
        if method == "POST" and (m := _SUBMIT.fullmatch(path)):
            return Route("post", m["arg"])
        if m := _REQUEST.fullmatch(path):
            op = m["op"]
            if op == "cancel" and method == "POST":
                return Route("cancel", m["arg"])
            if op == "status" and method == "GET":
                return Route("status", m["arg"])
            if op == "result" and method == "GET":
                return Route("result", m["arg"])
        return Route("other")

    def error_body(self, status: int) -> Any:
        if status == 422:
            return {
                "error_code": 422001,
                "message": "Validation error",
                "detail": [{"type": "value_error", "loc": ["body"], "msg": "Invalid input"}],
            }
        if status >= 500:
            return {"error_code": 500001, "message": "Internal server error"}
        if status == 402:
            return {"error_code": 400002, "message": "Insufficient balance"}
        return {"error_code": status * 1000 + 1, "message": _phrase(status)}

    def handle(self, route: Route, incoming: Incoming) -> Reply:
        auth = self._core.check_auth(incoming.headers)
        if auth == "revoked":
            return _error(400, 400004, "Invalid or revoked token")
        if auth != "ok":
            return _error(401, 401001, "Unauthorized")
        if route.kind == "post":
            return self._submit(route.arg, incoming)
        if route.kind == "other":
            return Reply.of_json(404, {"detail": "Not Found"})
        job = self._core.jobs.get(route.arg)
        if job is None:
            return _error(404, 404001, f"Request {route.arg} not found or expired")
        if route.kind == "status":
            return self._status(job)
        if route.kind == "result":
            return self._result(job)
        return self._cancel(job)

    def _submit(self, model_id: str, incoming: Incoming) -> Reply:
        validator = MODELS.get(model_id)
        if validator is None:
            return _error(400, 400001, f"Model '{model_id}' does not exist")
        body = incoming.json
        if not incoming.json_ok:
            issue = {"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error"}
            return _error(422, 422001, "Validation error", [issue])
        if not isinstance(body, dict):
            issue = _issue("", "dict_type", "Input should be a valid dictionary", body)
            return _error(422, 422001, "Validation error", [issue])
        errors = validator(body)
        if errors:
            return _error(422, 422001, "Validation error", errors)
        job = self._core.create_job(str(uuid.uuid4()), model_id, body)
        base = f"{self._core.base_url}/v1/requests/{job.id}"
        return Reply.of_json(
            200,
            {
                "request_id": job.id,
                "status_url": f"{base}/status",
                "result_url": f"{base}/result",
                "cancel_url": f"{base}/cancel",
            },
        )

    def _state(self, job: SimJob, now: float) -> dict[str, Any]:
        state: dict[str, Any] = {"request_id": job.id, "status": job.status_at(now)}
        position = job.queue_position_at(now)
        if position is not None:
            state["queue_position"] = position
        return state

    def _status(self, job: SimJob) -> Reply:
        now = self._core.now()
        return Reply.of_json(200, self._state(job, now), on_sent=lambda: job.mark_seen(now))

    def _result(self, job: SimJob) -> Reply:
        now = self._core.now()
        phase = job.phase_at(now)
        body = self._state(job, now)
        if job.is_terminal_at(now):
            body["created_at"] = self._core.iso(job.submitted_at)
            body["finished_at"] = self._core.iso(job.completed_at)
            if phase == "completed":
                body["output"] = {"video": self._core.video_url(job)}
            elif phase == "failed":
                error = job.script.error
                body["error"] = {"message": "generation failed"} if error is None else error
        return Reply.of_json(200, body, on_sent=lambda: job.mark_seen(now))

    def _cancel(self, job: SimJob) -> Reply:
        now = self._core.now()
        phase = job.phase_at(now)
        if phase == "queued":
            job.cancelled_at = now
            outcome = "cancelled"
        elif phase == "cancelled":
            outcome = "cancelled"
        else:
            outcome = "not_cancellable"
        return Reply.of_json(
            200, {"request_id": job.id, "status": job.status_at(now), "outcome": outcome}
        )
