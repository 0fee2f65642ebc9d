"""The provider simulator behaves as documented, driven with plain httpx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.providersim import (
    RUNCOMFY_ASPECT_RATIOS,
    RUNCOMFY_IMAGE_TO_VIDEO,
    RUNCOMFY_TEXT_TO_VIDEO,
    WAVESPEED_IMAGE_TO_VIDEO,
    WAVESPEED_TEXT_TO_VIDEO,
    Fault,
    JobScript,
    ProviderSim,
    SimJob,
    peak_in_flight,
    tiny_mp4,
)

KEY = "test-key-not-a-secret"
IMAGE = "https://example.test/cat.png"
RC_SUBMIT = f"/v1/models/{RUNCOMFY_TEXT_TO_VIDEO}"
WS_SUBMIT = f"/api/v3/{WAVESPEED_TEXT_TO_VIDEO}"


@pytest_asyncio.fixture
async def rc() -> AsyncIterator[ProviderSim]:
    async with ProviderSim("runcomfy", api_key=KEY, revoked_keys={"old-key"}) as sim:
        yield sim


@pytest_asyncio.fixture
async def ws() -> AsyncIterator[ProviderSim]:
    async with ProviderSim("wavespeed", api_key=KEY) as sim:
        yield sim


def client(sim: ProviderSim, key: str | None = KEY) -> httpx.AsyncClient:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return httpx.AsyncClient(base_url=sim.base_url, headers=headers, timeout=5.0)


async def rc_submit(c: httpx.AsyncClient, body: dict[str, Any] | None = None) -> str:
    r = await c.post(RC_SUBMIT, json=body or {"prompt": "a cat"})
    assert r.status_code == 200, r.text
    request_id: str = r.json()["request_id"]
    return request_id


async def ws_submit(c: httpx.AsyncClient, body: dict[str, Any] | None = None) -> str:
    r = await c.post(WS_SUBMIT, json=body or {"prompt": "a cat"})
    assert r.status_code == 200, r.text
    job_id: str = r.json()["data"]["id"]
    return job_id


async def rc_status(c: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    r = await c.get(f"/v1/requests/{request_id}/status")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def ws_result(c: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    r = await c.get(f"/api/v3/predictions/{job_id}/result")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# ----------------------------------------------------------------- RunComfy happy paths


async def test_runcomfy_submit_returns_absolute_urls_on_the_sim(rc: ProviderSim) -> None:
    async with client(rc) as c:
        r = await c.post(RC_SUBMIT, json={"prompt": "a cat", "aspect_ratio": "1920×1088(16:9)"})
    body = r.json()
    rid = body["request_id"]
    assert r.status_code == 200
    assert body["status_url"] == f"{rc.base_url}/v1/requests/{rid}/status"
    assert body["result_url"] == f"{rc.base_url}/v1/requests/{rid}/result"
    assert body["cancel_url"] == f"{rc.base_url}/v1/requests/{rid}/cancel"
    assert len(rid) == 36 and rid.count("-") == 4
    assert rc.jobs[rid].body == {"prompt": "a cat", "aspect_ratio": "1920×1088(16:9)"}


async def test_runcomfy_status_walks_queue_positions_then_runs_then_completes(
    rc: ProviderSim,
) -> None:
    rc.script(JobScript(queue_seconds=30, queue_positions=[3, 2, 1], run_seconds=60))
    async with client(rc) as c:
        rid = await rc_submit(c)
        seen = [await rc_status(c, rid)]
        for step in (10, 10, 10, 60):
            rc.advance(step)
            seen.append(await rc_status(c, rid))
    assert [s["status"] for s in seen] == [
        "in_queue",
        "in_queue",
        "in_queue",
        "in_progress",
        "completed",
    ]
    assert [s.get("queue_position") for s in seen] == [3, 2, 1, None, None]


async def test_runcomfy_queue_position_defaults_to_one(rc: ProviderSim) -> None:
    rc.script(JobScript(queue_seconds=10))
    async with client(rc) as c:
        rid = await rc_submit(c)
        assert await rc_status(c, rid) == {
            "request_id": rid,
            "status": "in_queue",
            "queue_position": 1,
        }


async def test_runcomfy_result_while_running_reports_state_without_output(
    rc: ProviderSim,
) -> None:
    rc.script(JobScript(run_seconds=100))
    async with client(rc) as c:
        rid = await rc_submit(c)
        r = await c.get(f"/v1/requests/{rid}/result")
    assert r.status_code == 200
    assert r.json() == {"request_id": rid, "status": "in_progress"}


async def test_runcomfy_completed_result_links_a_downloadable_video(rc: ProviderSim) -> None:
    video = tiny_mp4(128)
    rc.script(JobScript(run_seconds=5, video=video))
    async with client(rc) as c:
        rid = await rc_submit(c)
        rc.advance(5)
        r = await c.get(f"/v1/requests/{rid}/result")
        body = r.json()
        assert body["status"] == "completed"
        assert body["output"] == {"video": rc.file_url(f"{rid}.mp4")}
        assert body["created_at"].endswith("Z") and body["finished_at"] > body["created_at"]
        assert "error" not in body
    async with httpx.AsyncClient() as plain:
        f = await plain.get(body["output"]["video"])
    assert f.status_code == 200
    assert f.headers["content-type"] == "video/mp4"
    assert f.content == video and f.content[4:8] == b"ftyp"
    assert "authorization" not in rc.requests[-1].headers


async def test_runcomfy_image_to_video_happy_path(rc: ProviderSim) -> None:
    body = {
        "image_urls": [IMAGE],
        "prompt": "the cat blinks",
        "number_of_frames": 241,
        "resolution": "1080P",
        "seed": 7,
    }
    async with client(rc) as c:
        r = await c.post(f"/v1/models/{RUNCOMFY_IMAGE_TO_VIDEO}", json=body)
        rid = r.json()["request_id"]
        result = (await c.get(f"/v1/requests/{rid}/result")).json()
    assert r.status_code == 200
    assert rc.jobs[rid].model_id == RUNCOMFY_IMAGE_TO_VIDEO
    assert result["status"] == "completed"


# ----------------------------------------------------------------- RunComfy errors


async def test_runcomfy_rejects_ascii_x_aspect_ratio_with_422_detail(rc: ProviderSim) -> None:
    async with client(rc) as c:
        r = await c.post(RC_SUBMIT, json={"prompt": "a cat", "aspect_ratio": "1920x1088(16:9)"})
    body = r.json()
    assert r.status_code == 422
    assert body["error_code"] == 422001
    assert [d["loc"] for d in body["detail"]] == [["body", "aspect_ratio"]]
    assert body["detail"][0]["type"] == "literal_error"
    assert RUNCOMFY_ASPECT_RATIOS[0] in body["detail"][0]["msg"]
    assert rc.jobs == {}


@pytest.mark.parametrize(
    ("model", "body", "loc", "kind"),
    [
        (RUNCOMFY_TEXT_TO_VIDEO, {"prompt": "x", "duration": 5}, ["body", "duration"], "extra"),
        (RUNCOMFY_TEXT_TO_VIDEO, {"aspect_ratio": "1440×1440(1:1)"}, ["body", "prompt"], "missing"),
        (RUNCOMFY_TEXT_TO_VIDEO, {"prompt": "x" * 801}, ["body", "prompt"], "string_too_long"),
        (RUNCOMFY_TEXT_TO_VIDEO, {"prompt": "x", "frames": 120}, ["body", "frames"], "literal"),
        (RUNCOMFY_TEXT_TO_VIDEO, {"prompt": "x", "seed": "1"}, ["body", "seed"], "int_type"),
        (
            RUNCOMFY_IMAGE_TO_VIDEO,
            {"image_urls": IMAGE, "prompt": "x"},
            ["body", "image_urls"],
            "list",
        ),
        (
            RUNCOMFY_IMAGE_TO_VIDEO,
            {"image_urls": [IMAGE, IMAGE], "prompt": "x"},
            ["body", "image_urls"],
            "too_long",
        ),
        (
            RUNCOMFY_IMAGE_TO_VIDEO,
            {"image_urls": [IMAGE], "prompt": "x", "resolution": "1080p"},
            ["body", "resolution"],
            "literal",
        ),
        (
            RUNCOMFY_IMAGE_TO_VIDEO,
            {"image_urls": [IMAGE], "prompt": "x", "frames": 121},
            ["body", "frames"],
            "extra",
        ),
    ],
)
async def test_runcomfy_validation_errors_name_the_field(
    rc: ProviderSim, model: str, body: dict[str, Any], loc: list[str], kind: str
) -> None:
    async with client(rc) as c:
        r = await c.post(f"/v1/models/{model}", json=body)
    detail = r.json()["detail"]
    assert r.status_code == 422
    assert r.json()["error_code"] == 422001
    assert any(d["loc"] == loc and d["type"].startswith(kind) for d in detail), detail


async def test_runcomfy_unknown_model_is_400001(rc: ProviderSim) -> None:
    async with client(rc) as c:
        r = await c.post("/v1/models/bytedance/dreamina-3-0/text-to-video", json={"prompt": "x"})
    assert (r.status_code, r.json()["error_code"]) == (400, 400001)


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [("wrong", 401, 401001), (None, 401, 401001), ("old-key", 400, 400004)],
)
async def test_runcomfy_rejects_bad_keys(
    rc: ProviderSim, key: str | None, status: int, code: int
) -> None:
    async with client(rc, key) as c:
        r = await c.post(RC_SUBMIT, json={"prompt": "x"})
    assert (r.status_code, r.json()["error_code"]) == (status, code)
    assert rc.jobs == {}


async def test_runcomfy_unknown_request_id_is_404001(rc: ProviderSim) -> None:
    async with client(rc) as c:
        for op in ("status", "result"):
            r = await c.get(f"/v1/requests/nope/{op}")
            assert (r.status_code, r.json()["error_code"]) == (404, 404001)


async def test_runcomfy_failed_job_carries_opaque_error(rc: ProviderSim) -> None:
    rc.script(JobScript(outcome="failed"), JobScript(outcome="failed", error={"code": "E42"}))
    async with client(rc) as c:
        first, second = await rc_submit(c), await rc_submit(c)
        r1 = (await c.get(f"/v1/requests/{first}/result")).json()
        r2 = (await c.get(f"/v1/requests/{second}/result")).json()
        s = await rc_status(c, first)
    assert r1["status"] == "failed" and r1["error"] == {"message": "generation failed"}
    assert r2["error"] == {"code": "E42"}
    assert "output" not in r1
    assert s["status"] == "failed"


async def test_runcomfy_cancel_of_queued_job_cancels_for_good(rc: ProviderSim) -> None:
    rc.script(JobScript(queue_seconds=60, run_seconds=60))
    async with client(rc) as c:
        rid = await rc_submit(c)
        r = await c.post(f"/v1/requests/{rid}/cancel")
        rc.advance(500)
        status = await rc_status(c, rid)
        again = (await c.post(f"/v1/requests/{rid}/cancel")).json()
        result = (await c.get(f"/v1/requests/{rid}/result")).json()
    assert r.status_code == 200
    assert r.json() == {"request_id": rid, "status": "cancelled", "outcome": "cancelled"}
    assert status["status"] == "cancelled"
    assert again["outcome"] == "cancelled"
    assert result["status"] == "cancelled" and "output" not in result
    job = rc.jobs[rid]
    assert job.cancelled and job.completed_at == job.cancelled_at


async def test_runcomfy_cancel_of_running_job_is_not_cancellable(rc: ProviderSim) -> None:
    rc.script(JobScript(run_seconds=60))
    async with client(rc) as c:
        rid = await rc_submit(c)
        r = await c.post(f"/v1/requests/{rid}/cancel")
        rc.advance(60)
        status = await rc_status(c, rid)
    assert r.json() == {"request_id": rid, "status": "in_progress", "outcome": "not_cancellable"}
    assert status["status"] == "completed"
    assert not rc.jobs[rid].cancelled


async def test_runcomfy_scripted_cancelled_outcome(rc: ProviderSim) -> None:
    rc.script(JobScript(run_seconds=1, outcome="cancelled"))
    async with client(rc) as c:
        rid = await rc_submit(c)
        rc.advance(1)
        assert (await rc_status(c, rid))["status"] == "cancelled"


@pytest.mark.parametrize("http_status", [402, 400, 200])
async def test_runcomfy_insufficient_balance_in_each_documented_shape(
    rc: ProviderSim, http_status: int
) -> None:
    rc.fault(Fault.runcomfy(400002, http_status=None if http_status == 402 else http_status))
    async with client(rc) as c:
        r = await c.post(RC_SUBMIT, json={"prompt": "x"})
    assert r.status_code == http_status
    assert r.json() == {"error_code": 400002, "message": "Insufficient balance"}
    assert rc.jobs == {}


# ----------------------------------------------------------------- WaveSpeed


async def test_wavespeed_submit_envelope(ws: ProviderSim) -> None:
    async with client(ws) as c:
        r = await c.post(WS_SUBMIT, json={"prompt": "a cat", "aspect_ratio": "9:21", "seed": -1})
    body = r.json()
    data = body["data"]
    assert r.status_code == 200
    assert (body["code"], body["message"]) == (200, "success")
    assert data["status"] == "created" and data["outputs"] == [] and data["error"] == ""
    assert data["model"] == WAVESPEED_TEXT_TO_VIDEO
    assert data["urls"]["get"] == f"{ws.base_url}/api/v3/predictions/{data['id']}/result"
    assert data["has_nsfw_contents"] == [] and data["timings"] == {"inference": 0}
    assert data["created_at"].endswith("Z")
    assert len(data["id"]) == 32 and int(data["id"], 16) >= 0


async def test_wavespeed_result_goes_created_processing_completed(ws: ProviderSim) -> None:
    ws.script(JobScript(queue_seconds=5, run_seconds=20, nsfw=True))
    async with client(ws) as c:
        jid = await ws_submit(c)
        seen = [await ws_result(c, jid)]
        for step in (5, 20):
            ws.advance(step)
            seen.append(await ws_result(c, jid))
        get_url = seen[-1]["data"]["urls"]["get"]
        followed = (await c.get(get_url)).json()
    assert [s["data"]["status"] for s in seen] == ["created", "processing", "completed"]
    done = seen[-1]["data"]
    assert done["outputs"] == [ws.file_url(f"{jid}.mp4")]
    assert done["has_nsfw_contents"] == [True]
    assert done["timings"] == {"inference": 20000}
    assert followed["data"]["status"] == "completed"


async def test_wavespeed_image_to_video_happy_path(ws: ProviderSim) -> None:
    async with client(ws) as c:
        r = await c.post(
            f"/api/v3/{WAVESPEED_IMAGE_TO_VIDEO}",
            json={"prompt": "the cat blinks", "image": IMAGE, "aspect_ratio": "1:1"},
        )
        jid = r.json()["data"]["id"]
        result = await ws_result(c, jid)
    assert r.status_code == 200
    assert result["data"]["status"] == "completed"


@pytest.mark.parametrize(
    ("model", "body", "word"),
    [
        (WAVESPEED_TEXT_TO_VIDEO, {"prompt": "x", "aspect_ratio": "1920×1088(16:9)"}, "aspect"),
        (WAVESPEED_TEXT_TO_VIDEO, {"prompt": "x", "duration": 5}, "duration"),
        (WAVESPEED_TEXT_TO_VIDEO, {"prompt": "x", "seed": 2**31}, "seed"),
        (WAVESPEED_TEXT_TO_VIDEO, {"aspect_ratio": "16:9"}, "prompt"),
        (WAVESPEED_IMAGE_TO_VIDEO, {"prompt": "x", "image": [IMAGE]}, "image"),
        (WAVESPEED_IMAGE_TO_VIDEO, {"prompt": "x", "image_urls": [IMAGE]}, "image_urls"),
    ],
)
async def test_wavespeed_rejects_bad_parameters_with_1400(
    ws: ProviderSim, model: str, body: dict[str, Any], word: str
) -> None:
    async with client(ws) as c:
        r = await c.post(f"/api/v3/{model}", json=body)
    assert r.status_code == 400
    assert r.json()["code"] == 1400 and word in r.json()["message"]
    assert r.json()["data"] is None
    assert ws.jobs == {}


async def test_wavespeed_bad_key_is_401(ws: ProviderSim) -> None:
    async with client(ws, "wrong") as c:
        r = await c.post(WS_SUBMIT, json={"prompt": "x"})
    assert r.status_code == 401
    assert r.json() == {"code": 401, "message": "Unauthorized"}


async def test_wavespeed_unknown_prediction_is_404(ws: ProviderSim) -> None:
    async with client(ws) as c:
        r = await c.get("/api/v3/predictions/deadbeef/result")
    assert r.status_code == 404 and r.json()["code"] == 404


async def test_wavespeed_failed_job_is_http_200_with_error_string(ws: ProviderSim) -> None:
    ws.script(JobScript(outcome="failed"), JobScript(outcome="failed", error="NSFW input"))
    async with client(ws) as c:
        first, second = await ws_submit(c), await ws_submit(c)
        r1, r2 = await ws_result(c, first), await ws_result(c, second)
    assert r1["code"] == 200
    assert r1["data"]["status"] == "failed" and r1["data"]["error"] == "generation failed"
    assert r1["data"]["outputs"] == []
    assert r2["data"]["error"] == "NSFW input"


async def test_wavespeed_has_no_cancel_endpoint(ws: ProviderSim) -> None:
    ws.script(JobScript(queue_seconds=60))
    async with client(ws) as c:
        jid = await ws_submit(c)
        r = await c.post(f"/api/v3/predictions/{jid}/cancel")
    assert r.status_code == 404
    assert not ws.jobs[jid].cancelled
    assert ws.requests[-1].kind == "cancel"


@pytest.mark.parametrize(("http_status", "expected"), [(None, 400), (200, 200)])
async def test_wavespeed_moderation_fault(
    ws: ProviderSim, http_status: int | None, expected: int
) -> None:
    ws.fault(Fault.wavespeed(1200, http_status=http_status))
    async with client(ws) as c:
        r = await c.post(WS_SUBMIT, json={"prompt": "x"})
    assert r.status_code == expected
    assert r.json()["code"] == 1200 and r.json()["data"] is None


# ----------------------------------------------------------------- faults


async def test_fault_429_sends_retry_after(rc: ProviderSim) -> None:
    rc.fault(
        Fault("status", http_status=429, headers={"Retry-After": "7"}),
        Fault("status", http_status=429),
        Fault("status", http_status=429, headers={"Retry-After": ""}),
    )
    async with client(rc) as c:
        rid = await rc_submit(c)
        answers = [await c.get(f"/v1/requests/{rid}/status") for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    assert [a.headers.get("retry-after") for a in answers[:3]] == ["7", "1", None]
    assert answers[0].json()["error_code"] == 429001


async def test_fault_default_bodies_follow_the_protocol(rc: ProviderSim, ws: ProviderSim) -> None:
    rc.fault(Fault("post"))
    ws.fault(Fault("post", http_status=503))
    async with client(rc) as c:
        r = await c.post(RC_SUBMIT, json={"prompt": "x"})
    async with client(ws) as c:
        w = await c.post(WS_SUBMIT, json={"prompt": "x"})
    assert (r.status_code, r.json()["error_code"]) == (500, 500001)
    assert (w.status_code, w.json()["code"], w.json()["data"]) == (503, 5003, None)
    assert rc.jobs == {} and ws.jobs == {}


async def test_fault_raw_body_is_sent_verbatim(ws: ProviderSim) -> None:
    ws.fault(Fault("result", http_status=200, raw=b"{not json"))
    async with client(ws) as c:
        jid = await ws_submit(c)
        r = await c.get(f"/api/v3/predictions/{jid}/result")
    assert r.status_code == 200 and r.content == b"{not json"


async def test_fault_delay_without_status_answers_normally_but_late(rc: ProviderSim) -> None:
    rc.fault(Fault("status", http_status=None, delay=0.3))
    async with client(rc) as c:
        rid = await rc_submit(c)
        started = time.monotonic()
        r = await c.get(f"/v1/requests/{rid}/status")
        elapsed = time.monotonic() - started
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert elapsed >= 0.3


async def test_fault_delay_trips_a_client_timeout(rc: ProviderSim) -> None:
    rc.fault(Fault("any", http_status=None, delay=1.0))
    async with httpx.AsyncClient(base_url=rc.base_url, timeout=0.1) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/v1/requests/x/status")


async def test_fault_drop_before_submit_creates_no_job(rc: ProviderSim) -> None:
    rc.fault(Fault("post", drop="before"))
    async with client(rc) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post(RC_SUBMIT, json={"prompt": "x"})
    assert rc.jobs == {}
    assert len(rc.submits()) == 1


async def test_fault_drop_after_submit_creates_the_job(ws: ProviderSim) -> None:
    ws.fault(Fault("post", drop="after"))
    async with client(ws) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post(WS_SUBMIT, json={"prompt": "x"})
    assert len(ws.jobs) == 1
    assert len(ws.submits()) == 1
    fault = ws.submits()[0].fault
    assert fault is not None and fault.drop == "after"


async def test_fault_drop_after_get_does_not_count_as_seen(rc: ProviderSim) -> None:
    rc.fault(Fault("status", drop="after"))
    async with client(rc) as c:
        rid = await rc_submit(c)
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(f"/v1/requests/{rid}/status")
        assert rc.jobs[rid].first_seen_terminal_at is None
        await rc_status(c, rid)
    assert rc.jobs[rid].first_seen_terminal_at is not None


async def test_fault_drop_mid_truncates_a_download(rc: ProviderSim) -> None:
    rc.fault(Fault("file", drop="mid"))
    async with client(rc) as c:
        rid = await rc_submit(c)
        url = rc.file_url(f"{rid}.mp4")
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(url)
        assert (await c.get(url)).status_code == 200


async def test_fault_file_status(rc: ProviderSim) -> None:
    rc.fault(Fault("file", http_status=503, headers={"Retry-After": "3"}))
    async with client(rc) as c:
        rid = await rc_submit(c)
        r = await c.get(rc.file_url(f"{rid}.mp4"))
    assert r.status_code == 503 and r.headers["retry-after"] == "3"


async def test_faults_match_by_kind_in_order_and_are_used_up(rc: ProviderSim) -> None:
    rc.fault(
        Fault("result", http_status=502, times=2),
        Fault("any", http_status=504),
        Fault("status", http_status=500),
    )
    async with client(rc) as c:
        first = await c.post(RC_SUBMIT, json={"prompt": "x"})
        rid = await rc_submit(c)
        ops = ("result", "status", "result", "result", "status")
        status_codes = [(await c.get(f"/v1/requests/{rid}/{op}")).status_code for op in ops]
    assert first.status_code == 504
    assert len(rc.jobs) == 1
    assert status_codes == [502, 500, 502, 200, 200]
    assert rc.pending_faults == []


async def test_fault_headers_decorate_a_normal_answer(rc: ProviderSim) -> None:
    rc.fault(Fault("post", http_status=None, headers={"X-Request-Id": "abc"}))
    async with client(rc) as c:
        r = await c.post(RC_SUBMIT, json={"prompt": "x"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc"
    assert len(rc.jobs) == 1


# ----------------------------------------------------------------- files


async def test_large_file_is_streamed_with_content_length(rc: ProviderSim) -> None:
    size = 20 * 1024 * 1024
    rc.script(JobScript(video_size=size))
    async with client(rc) as c:
        rid = await rc_submit(c)
        url = (await c.get(f"/v1/requests/{rid}/result")).json()["output"]["video"]
    received = 0
    first = b""
    async with httpx.AsyncClient() as plain, plain.stream("GET", url) as r:
        assert r.headers["content-length"] == str(size)
        assert r.headers["content-type"] == "video/mp4"
        async for chunk in r.aiter_raw():
            if not first:
                first = chunk[:16]
            received += len(chunk)
    assert received == size
    assert first[4:8] == b"ftyp"


async def test_expired_file_answers_404(ws: ProviderSim) -> None:
    ws.script(JobScript(result_status=404))
    async with client(ws) as c:
        jid = await ws_submit(c)
        url = (await ws_result(c, jid))["data"]["outputs"][0]
        r = await c.get(url)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/xml"


async def test_file_is_not_served_before_the_job_completes(rc: ProviderSim) -> None:
    rc.script(JobScript(run_seconds=60))
    async with client(rc) as c:
        rid = await rc_submit(c)
        assert (await c.get(rc.file_url(f"{rid}.mp4"))).status_code == 404
        rc.advance(60)
        assert (await c.get(rc.file_url(f"{rid}.mp4"))).status_code == 200


async def test_video_url_content_type_and_extra_files(ws: ProviderSim) -> None:
    page = ws.put_file("page.html", b"<html>login</html>", content_type="text/html")
    ws.script(JobScript(video_url=page))
    async with client(ws) as c:
        jid = await ws_submit(c)
        url = (await ws_result(c, jid))["data"]["outputs"][0]
        r = await c.get(url)
        head = await c.head(url)
    assert url == page
    assert r.headers["content-type"] == "text/html" and r.content == b"<html>login</html>"
    assert head.status_code == 200 and head.headers["content-length"] == "18"


def test_tiny_mp4_looks_like_an_mp4() -> None:
    data = tiny_mp4()
    assert len(data) == 64 and data[4:8] == b"ftyp" and data[28:32] == b"mdat"
    assert len(tiny_mp4(12)) == 12
    with pytest.raises(ValueError, match="at least"):
        tiny_mp4(8)


# ----------------------------------------------------------------- clock and records


async def test_time_scale_compresses_job_durations() -> None:
    async with ProviderSim("runcomfy", api_key=KEY, time_scale=100) as sim:
        sim.script(JobScript(queue_seconds=10, run_seconds=10))
        async with client(sim) as c:
            rid = await rc_submit(c)
            before = await rc_status(c, rid)
            await asyncio.sleep(0.25)  # 25 simulated seconds
            after = await rc_status(c, rid)
    job = sim.jobs[rid]
    assert before["status"] == "in_queue" and after["status"] == "completed"
    assert job.completed_at == pytest.approx(job.submitted_at + 20)
    assert job.first_seen_terminal_at is not None
    assert 20 <= job.first_seen_terminal_at - job.submitted_at < 40


async def test_first_seen_terminal_is_the_first_terminal_report(ws: ProviderSim) -> None:
    ws.script(JobScript(run_seconds=30))
    async with client(ws) as c:
        jid = await ws_submit(c)
        await ws_result(c, jid)
        job = ws.jobs[jid]
        unseen = job.first_seen_terminal_at
        ws.advance(45)
        await ws_result(c, jid)
        seen = job.first_seen_terminal_at
        ws.advance(10)
        await ws_result(c, jid)
    assert unseen is None
    assert seen is not None and job.first_seen_terminal_at == seen
    assert 15 <= seen - job.completed_at < 16
    assert job.polls == 3
    assert job.status_at(ws.now()) == "completed"


async def test_requests_are_recorded_with_lowercase_headers_and_json(rc: ProviderSim) -> None:
    async with client(rc) as c:
        await c.post(RC_SUBMIT, json={"prompt": "x"}, headers={"X-Trace": "t1"})
        await c.get("/v1/requests/nope/status", params={"a": "b"})
    post, get = rc.requests
    assert rc.submits() == [post]
    assert (post.method, post.path, post.kind) == ("POST", RC_SUBMIT, "post")
    assert post.json == {"prompt": "x"} and post.body == post.raw
    assert post.headers["x-trace"] == "t1"
    assert post.headers["authorization"] == f"Bearer {KEY}"
    assert (get.kind, get.query, get.json) == ("status", {"a": "b"}, None)
    assert 0 <= post.time <= get.time


async def test_scripts_are_taken_in_order_then_the_default(rc: ProviderSim) -> None:
    first = JobScript(run_seconds=1)
    rc.default_script = JobScript(run_seconds=2)
    rc.script(first)
    async with client(rc) as c:
        a, b, d = await rc_submit(c), await rc_submit(c), await rc_submit(c)
    assert rc.jobs[a].script is first
    assert rc.jobs[b].script is rc.default_script and rc.jobs[d].script is rc.default_script


def test_peak_in_flight_counts_jobs_submitted_and_not_yet_ended() -> None:
    def job(name: str, start: float, seconds: float, cancelled_at: float | None = None) -> SimJob:
        made = SimJob(name, "runcomfy", "m", {}, JobScript(run_seconds=seconds), start)
        made.cancelled_at = cancelled_at
        return made

    # a: [0, 10), b: [5, 15), c starts as a ends: [10, 20); d is cancelled: [2, 6).
    a, b, c, d = job("a", 0, 10), job("b", 5, 10), job("c", 10, 10), job("d", 2, 1e6, 6)
    assert peak_in_flight([a, b, c]) == 2
    assert peak_in_flight([a, b, c, d]) == 3  # a, b and d at 5
    assert peak_in_flight([]) == 0
