"""RunComfy over real HTTP against the loopback simulator."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from providers import (
    AuthenticationError,
    CancelOutcome,
    Failed,
    InsufficientCredit,
    InvalidRequest,
    JobNotFound,
    JobUpdate,
    Mode,
    Queued,
    RateLimited,
    Running,
    StillRunning,
    SubmitOutcomeUnknown,
    Succeeded,
    TransientError,
    UnsafeURL,
    UnsupportedOption,
    VideoRequest,
    wait_for_job,
)
from providers.runcomfy import RunComfy
from tests.providers.conftest import FAST_CADENCE, FAST_RETRY, IMAGE_URL, KEY
from tests.providersim import Fault, JobScript, ProviderSim

TEXT = VideoRequest(mode=Mode.TEXT, prompt="A glass teapot on a table")
IMAGE = VideoRequest(mode=Mode.IMAGE, prompt="the woman walks", image_url=IMAGE_URL)


async def test_text_submit_sends_the_exact_documented_body(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    request = TEXT.model_copy(update={"aspect_ratio": "9:16", "duration": 10, "seed": 42})
    job_id = await runcomfy.submit(request)

    [submit] = rc_sim.submits()
    assert submit.method == "POST"
    assert submit.path == "/v1/models/bytedance/dreamina-3-0/pro/text-to-video"
    assert submit.headers["authorization"] == f"Bearer {KEY}"
    assert submit.json == {
        "prompt": "A glass teapot on a table",
        "aspect_ratio": "1088\u00d71920(9:16)",
        "frames": 241,
        "seed": 42,
    }
    assert job_id in rc_sim.jobs


async def test_text_defaults_are_sent_explicitly(runcomfy: RunComfy, rc_sim: ProviderSim) -> None:
    await runcomfy.submit(TEXT)
    assert rc_sim.submits()[0].json == {
        "prompt": "A glass teapot on a table",
        "aspect_ratio": "1920\u00d71088(16:9)",
        "frames": 121,
        "seed": -1,
    }


async def test_image_submit_uses_image_urls_and_number_of_frames(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    request = IMAGE.model_copy(update={"duration": 10, "resolution": "1080P", "seed": 7})
    await runcomfy.submit(request)
    [submit] = rc_sim.submits()
    assert submit.path == "/v1/models/bytedance/dreamina-3-0/image-to-video"
    assert submit.json == {
        "image_urls": [IMAGE_URL],
        "prompt": "the woman walks",
        "number_of_frames": 241,
        "resolution": "1080P",
        "seed": 7,
    }


@pytest.mark.parametrize(
    "request_",
    [
        TEXT.model_copy(update={"aspect_ratio": "9:21"}),
        TEXT.model_copy(update={"resolution": "720P"}),
        IMAGE.model_copy(update={"aspect_ratio": "16:9"}),
        VideoRequest(mode=Mode.IMAGE, prompt="x", image_url="http://cdn.example.com/a.png"),
    ],
)
async def test_refused_requests_make_no_http_call(
    rc_sim: ProviderSim, http: httpx.AsyncClient, request_: VideoRequest
) -> None:
    strict = RunComfy(client=http, api_key=SecretStr(KEY), base_url=rc_sim.base_url)
    with pytest.raises((UnsupportedOption, UnsafeURL)):
        await strict.submit(request_)
    assert rc_sim.requests == []


async def test_a_job_is_followed_from_queue_to_video(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    rc_sim.script(JobScript(queue_seconds=30, queue_positions=[3, 2, 1], run_seconds=30))
    job_id = await runcomfy.submit(TEXT)
    seen: list[JobUpdate] = []

    async def record(update: JobUpdate) -> None:
        seen.append(update)

    outcome = await wait_for_job(
        runcomfy, job_id, cadence=FAST_CADENCE, deadline=30, on_update=record
    )
    assert isinstance(outcome, Succeeded)
    assert outcome.video_url == rc_sim.file_url(f"{job_id}.mp4")
    positions = [u.position for u in seen if isinstance(u, Queued) and u.position is not None]
    assert positions and positions == sorted(positions, reverse=True)
    assert set(positions) <= {3, 2, 1}
    assert Running() in seen
    assert seen[-1] == outcome
    gets = {r.path for r in rc_sim.requests if r.method == "GET"}
    assert gets == {f"/v1/requests/{job_id}/status", f"/v1/requests/{job_id}/result"}


async def test_a_failed_job_carries_the_provider_reason(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    rc_sim.script(JobScript(run_seconds=1, outcome="failed", error={"message": "GPU fell over"}))
    job_id = await runcomfy.submit(TEXT)
    outcome = await wait_for_job(runcomfy, job_id, cadence=FAST_CADENCE, deadline=30)
    assert outcome == Failed(reason="GPU fell over")


async def test_cancel_queued_job_and_refuse_running_one(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    rc_sim.script(JobScript(queue_seconds=10_000, queue_positions=[5]), JobScript(run_seconds=1e4))
    queued = await runcomfy.submit(TEXT)
    running = await runcomfy.submit(TEXT)
    assert await runcomfy.cancel(queued) is CancelOutcome.CANCELLED
    assert await runcomfy.cancel(running) is CancelOutcome.NOT_CANCELLABLE
    outcome = await wait_for_job(runcomfy, queued, cadence=FAST_CADENCE, deadline=5)
    assert outcome.__class__.__name__ == "Cancelled"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (
            Fault(kind="post", http_status=401, body={"error_code": 401001, "message": "no"}),
            AuthenticationError,
        ),
        (Fault.runcomfy(400004, http_status=400), AuthenticationError),
        (Fault.runcomfy(400002), InsufficientCredit),
        (Fault.runcomfy(400002, http_status=400), InsufficientCredit),
        (Fault.runcomfy(400002, http_status=200), InsufficientCredit),
        (Fault.runcomfy(400001), InvalidRequest),
        (Fault.runcomfy(500001), TransientError),
        (Fault(kind="post", http_status=429, headers={"Retry-After": "3"}), RateLimited),
    ],
)
async def test_submit_errors_are_classified_and_never_retried(
    runcomfy: RunComfy, rc_sim: ProviderSim, fault: Fault, error: type[Exception]
) -> None:
    rc_sim.fault(fault)
    with pytest.raises(error) as caught:
        await runcomfy.submit(TEXT)
    assert len(rc_sim.submits()) == 1
    assert rc_sim.jobs == {}
    assert caught.value.refundable  # type: ignore[attr-defined]
    assert KEY not in str(caught.value)


async def test_validation_error_names_the_field(runcomfy: RunComfy, rc_sim: ProviderSim) -> None:
    rc_sim.fault(
        Fault.runcomfy(
            422001,
            detail=[{"loc": ["body", "prompt"], "msg": "too long", "type": "value_error"}],
        )
    )
    with pytest.raises(InvalidRequest) as caught:
        await runcomfy.submit(TEXT)
    assert "prompt: too long" in caught.value.admin_message
    assert caught.value.errors[0]["msg"] == "too long"


async def test_rate_limit_carries_retry_after(runcomfy: RunComfy, rc_sim: ProviderSim) -> None:
    rc_sim.fault(Fault(kind="post", http_status=429, headers={"Retry-After": "3"}))
    with pytest.raises(RateLimited) as caught:
        await runcomfy.submit(TEXT)
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize("drop", ["after", "before"])
async def test_a_dropped_submit_is_unknown_not_failed_and_not_resent(
    runcomfy: RunComfy, rc_sim: ProviderSim, drop: str
) -> None:
    rc_sim.fault(Fault(kind="post", drop=drop))  # type: ignore[arg-type]
    with pytest.raises(SubmitOutcomeUnknown) as caught:
        await runcomfy.submit(TEXT)
    assert not caught.value.refundable
    assert len(rc_sim.submits()) == 1
    assert len(rc_sim.jobs) == (1 if drop == "after" else 0)


async def test_a_submit_answer_that_times_out_is_unknown(
    rc_sim: ProviderSim,
) -> None:
    rc_sim.fault(Fault(kind="post", http_status=None, delay=1.0))
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.2)) as slow:
        provider = RunComfy(client=slow, api_key=SecretStr(KEY), base_url=rc_sim.base_url)
        with pytest.raises(SubmitOutcomeUnknown):
            await provider.submit(TEXT)
    assert len(rc_sim.submits()) == 1


async def test_an_unreadable_submit_answer_is_unknown(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    rc_sim.fault(Fault(kind="post", http_status=200, raw=b"{not json"))
    with pytest.raises(SubmitOutcomeUnknown):
        await runcomfy.submit(TEXT)
    assert len(rc_sim.submits()) == 1


async def test_nothing_listening_means_nothing_submitted(http: httpx.AsyncClient) -> None:
    provider = RunComfy(client=http, api_key=SecretStr(KEY), base_url="http://127.0.0.1:9")
    with pytest.raises(TransientError) as caught:
        await provider.submit(TEXT)
    assert caught.value.refundable
    assert "nothing was submitted" in caught.value.admin_message


async def test_status_gets_are_retried_through_bursts_of_errors(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    rc_sim.script(JobScript(run_seconds=1e5))
    job_id = await runcomfy.submit(TEXT)
    rc_sim.fault(
        Fault(kind="status", http_status=503, times=1),
        Fault(kind="status", http_status=429, headers={"Retry-After": "0"}, times=1),
        Fault(kind="status", http_status=200, raw=b"<html>oops</html>", times=1),
    )
    assert await runcomfy.poll(job_id) == Running()
    statuses = [r for r in rc_sim.requests if r.path.endswith("/status")]
    assert len(statuses) == 4


async def test_retry_after_is_honoured(rc_sim: ProviderSim, http: httpx.AsyncClient) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    provider = RunComfy(
        client=http,
        api_key=SecretStr(KEY),
        base_url=rc_sim.base_url,
        retry=FAST_RETRY.__class__(max_attempts=3, max_retry_after=60),
        sleep=sleep,
    )
    rc_sim.script(JobScript(run_seconds=1e5))
    job_id = await provider.submit(TEXT)
    rc_sim.fault(Fault(kind="status", http_status=429, headers={"Retry-After": "7"}))
    assert await provider.poll(job_id) == Running()
    assert slept == [7.0]


async def test_errors_that_outlast_retries_surface_as_retryable(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    rc_sim.script(JobScript(run_seconds=1e5))
    job_id = await runcomfy.submit(TEXT)
    rc_sim.fault(Fault(kind="status", http_status=500, times=10))
    with pytest.raises(TransientError) as caught:
        await runcomfy.poll(job_id)
    assert caught.value.retryable
    assert len([r for r in rc_sim.requests if r.path.endswith("/status")]) == 4


async def test_waiting_rides_out_a_long_outage(runcomfy: RunComfy, rc_sim: ProviderSim) -> None:
    rc_sim.script(JobScript(run_seconds=1))
    job_id = await runcomfy.submit(TEXT)
    rc_sim.fault(Fault(kind="status", http_status=502, times=9))
    outcome = await wait_for_job(runcomfy, job_id, cadence=FAST_CADENCE, deadline=30)
    assert isinstance(outcome, Succeeded)


async def test_unknown_status_is_polled_again_not_guessed(
    runcomfy: RunComfy, rc_sim: ProviderSim, caplog: pytest.LogCaptureFixture
) -> None:
    rc_sim.script(JobScript(run_seconds=1))
    job_id = await runcomfy.submit(TEXT)
    rc_sim.fault(
        Fault(kind="status", http_status=200, body={"request_id": job_id, "status": "warming"})
    )
    assert await runcomfy.poll(job_id) is None
    assert "unknown status 'warming'" in caplog.text
    outcome = await wait_for_job(runcomfy, job_id, cadence=FAST_CADENCE, deadline=30)
    assert isinstance(outcome, Succeeded)


async def test_unknown_job_is_not_retried(runcomfy: RunComfy, rc_sim: ProviderSim) -> None:
    with pytest.raises(JobNotFound):
        await runcomfy.poll("0000-unknown")
    assert len(rc_sim.requests) == 1


async def test_deadline_reports_still_running_not_failed(
    runcomfy: RunComfy, rc_sim: ProviderSim
) -> None:
    rc_sim.script(JobScript(run_seconds=1e6))
    job_id = await runcomfy.submit(TEXT)
    outcome = await wait_for_job(runcomfy, job_id, cadence=FAST_CADENCE, deadline=0.2)
    assert isinstance(outcome, StillRunning)
    assert outcome.last == Running()


async def test_the_api_key_never_appears_in_errors(runcomfy: RunComfy, rc_sim: ProviderSim) -> None:
    rc_sim.fault(Fault.runcomfy(401001, http_status=401, message=f"token {KEY} is revoked"))
    with pytest.raises(AuthenticationError) as caught:
        await runcomfy.submit(TEXT)
    assert KEY not in str(caught.value)
    assert "[redacted]" in caught.value.admin_message
