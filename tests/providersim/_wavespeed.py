"""WaveSpeedAI v3: routes, parameter checks and the `{code, message, data}` envelope."""

from __future__ import annotations

import re
import uuid
from http import HTTPStatus
from typing import Any

from ._model import TERMINAL_PHASES, Incoming, Phase, Reply, Route, SimCore, SimJob, wire_status

TEXT_TO_VIDEO = "bytedance/dreamina-v3.0-pro/text-to-video"
IMAGE_TO_VIDEO = "bytedance/dreamina-v3.0-pro/image-to-video"

ASPECT_RATIOS: tuple[str, ...] = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21")
SEED_MIN = -1
SEED_MAX = 2147483647
PROMPT_MAX = 800  # documented for image-to-video only

_RESULT = re.compile(r"/api/v3/predictions/(?P<arg>[^/]+)/result")
_CANCEL = re.compile(r"/api/v3/predictions/(?P<arg>[^/]+)/cancel")
_SECRET_PATH = "/api/v3/webhook/secret"
_SUBMIT = re.compile(r"/api/v3/(?P<arg>(?!predictions/).+)")

_MODEL_KEYS: dict[str, frozenset[str]] = {
    TEXT_TO_VIDEO: frozenset({"prompt", "aspect_ratio", "seed"}),
    IMAGE_TO_VIDEO: frozenset({"prompt", "image", "aspect_ratio", "seed"}),
}


def _envelope_error(status: int, code: int, message: str) -> Reply:
    return Reply.of_json(status, {"code": code, "message": message, "data": None})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(model_id: str, body: dict[str, Any]) -> str | None:
    """The first problem with a submit body, as WaveSpeed would word it, or None."""
    allowed = _MODEL_KEYS[model_id]
    for key in body:
        if key not in allowed:
            return f"unknown parameter: {key}"
    prompt = body.get("prompt")
    if prompt is None:
        return "prompt is required"
    if not isinstance(prompt, str):
        return "prompt must be a string"
    if model_id == IMAGE_TO_VIDEO:
        if len(prompt) > PROMPT_MAX:
            return f"prompt must be at most {PROMPT_MAX} characters"
        image = body.get("image")
        if image is None:
            return "image is required"
        if not isinstance(image, str) or not image.startswith(("https://", "http://")):
            return "image must be a URL string"
    if "aspect_ratio" in body and body["aspect_ratio"] not in ASPECT_RATIOS:
        return "aspect_ratio must be one of " + ", ".join(ASPECT_RATIOS)
    if "seed" in body:
        seed = body["seed"]
        if not _is_int(seed) or not SEED_MIN <= seed <= SEED_MAX:
            return f"seed must be an integer between {SEED_MIN} and {SEED_MAX}"
    return None


class WaveSpeedHandler:
    """Speaks WaveSpeedAI's v3 API for one simulator."""

    def __init__(self, core: SimCore) -> None:
        self._core = core

    def classify(self, method: str, path: str) -> Route:
        if method == "GET" and path == _SECRET_PATH:
            return Route("webhook_secret")
        if method == "GET" and (m := _RESULT.fullmatch(path)):
            return Route("result", m["arg"])
        if method == "POST" and (m := _CANCEL.fullmatch(path)):
            return Route("cancel", m["arg"])
        if method == "POST" and (m := _SUBMIT.fullmatch(path)):
            return Route("post", m["arg"])
        return Route("other")

    def error_body(self, status: int) -> Any:
        if status == 401:
            return {"code": 401, "message": "Unauthorized"}
        if status == 400:
            return {"code": 1400, "message": "invalid parameters", "data": None}
        if status >= 500:
            code = {503: 5003, 504: 5004}.get(status, 5000)
            return {"code": code, "message": "internal server error", "data": None}
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        return {"code": status, "message": phrase, "data": None}

    def handle(self, route: Route, incoming: Incoming) -> Reply:
        if self._core.check_auth(incoming.headers) != "ok":
            return Reply.of_json(401, {"code": 401, "message": "Unauthorized"})
        if route.kind == "post":
            return self._submit(route.arg, incoming)
        if route.kind == "webhook_secret":
            # "Verifying webhooks": the secret, with its whsec_ prefix, in the usual envelope.
            return Reply.of_json(
                200,
                {"code": 200, "message": "success", "data": {"secret": self._core.webhook_secret}},
            )
        if route.kind == "result":
            job = self._core.jobs.get(route.arg)
            if job is None:
                return _envelope_error(404, 404, f"prediction {route.arg} not found")
            now = self._core.now()
            return Reply.of_json(
                200,
                {"code": 200, "message": "success", "data": self._data(job, now)},
                on_sent=lambda: job.mark_seen(now),
            )
        # No cancel endpoint, and nothing else here.
        return _envelope_error(404, 404, "Not Found")

    def _submit(self, model_id: str, incoming: Incoming) -> Reply:
        if model_id not in _MODEL_KEYS:
            return _envelope_error(404, 404, f"model {model_id} not found")
        body = incoming.json
        if not incoming.json_ok or not isinstance(body, dict):
            return _envelope_error(400, 1400, "request body must be a JSON object")
        problem = validate(model_id, body)
        if problem is not None:
            return _envelope_error(400, 1400, problem)
        webhook = incoming.query.get("webhook")
        if webhook is not None and not webhook.startswith(("https://", "http://")):
            return _envelope_error(400, 1400, "webhook must be a URL")
        job = self._core.create_job(uuid.uuid4().hex, model_id, body)
        job.webhook_url = webhook
        data = self._data(job, job.submitted_at, phase="queued")
        return Reply.of_json(200, {"code": 200, "message": "success", "data": data})

    def callback_body(self, job: SimJob) -> dict[str, Any]:
        """What WaveSpeed POSTs to a job's webhook when it ends: the result's fields."""
        return self._data(job, self._core.now())

    def _data(self, job: SimJob, now: float, *, phase: Phase | None = None) -> dict[str, Any]:
        """The `data` object at `now`; `phase` forces a state (a submit always says created)."""
        if phase is None:
            phase = job.phase_at(now)
        done = phase == "completed"
        terminal = phase in TERMINAL_PHASES
        error = ""
        if phase == "failed":
            error = "generation failed" if job.script.error is None else str(job.script.error)
        elif phase == "cancelled":
            error = "cancelled"
        return {
            "id": job.id,
            "model": job.model_id,
            "outputs": [self._core.video_url(job)] if done else [],
            "urls": {"get": f"{self._core.base_url}/api/v3/predictions/{job.id}/result"},
            "has_nsfw_contents": [job.script.nsfw] if done else [],
            "status": wire_status("wavespeed", phase),
            "created_at": self._core.iso(job.submitted_at),
            "error": error,
            "timings": {"inference": round(job.script.run_seconds * 1000) if terminal else 0},
        }
