"""WaveSpeed over real HTTP against the loopback simulator."""

from __future__ import annotations

import pytest

from providers import (
    AuthenticationError,
    CancelOutcome,
    ContentModerated,
    Failed,
    InputNotFetchable,
    InvalidRequest,
    JobUpdate,
    Mode,
    Queued,
    RateLimited,
    Running,
    SubmitOutcomeUnknown,
    Succeeded,
    TaskFailed,
    TransientError,
    UnsupportedOption,
    VideoRequest,
    wait_for_job,
)
from providers.wavespeed import WaveSpeed
from tests.providers.conftest import FAST_CADENCE, IMAGE_URL, KEY
from tests.providersim import Fault, JobScript, ProviderSim

TEXT = VideoRequest(mode=Mode.TEXT, prompt="A red fox in snow")
IMAGE = VideoRequest(mode=Mode.IMAGE, prompt="the fox jumps", image_url=IMAGE_URL)


async def test_text_submit_sends_the_exact_documented_body(
    wavespeed: WaveSpeed, ws_sim: ProviderSim
) -> None:
    job_id = await wavespeed.submit(TEXT.model_copy(update={"aspect_ratio": "9:21", "seed": 9}))
    [submit] = ws_sim.submits()
    assert submit.path == "/api/v3/bytedance/dreamina-v3.0-pro/text-to-video"
    assert submit.headers["authorization"] == f"Bearer {KEY}"
    assert submit.json == {"prompt": "A red fox in snow", "aspect_ratio": "9:21", "seed": 9}
    assert job_id in ws_sim.jobs


async def test_text_default_aspect_is_sent(wavespeed: WaveSpeed, ws_sim: ProviderSim) -> None:
    await wavespeed.submit(TEXT)
    assert ws_sim.submits()[0].json == {
        "prompt": "A red fox in snow",
        "aspect_ratio": "16:9",
        "seed": -1,
    }


async def test_image_submit_sends_image_as_a_string(
    wavespeed: WaveSpeed, ws_sim: ProviderSim
) -> None:
    await wavespeed.submit(IMAGE)
    await wavespeed.submit(IMAGE.model_copy(update={"aspect_ratio": "1:1"}))
    first, second = ws_sim.submits()
    assert first.path == "/api/v3/bytedance/dreamina-v3.0-pro/image-to-video"
    assert first.json == {"prompt": "the fox jumps", "image": IMAGE_URL, "seed": -1}
    assert second.json == {
        "prompt": "the fox jumps",
        "image": IMAGE_URL,
        "aspect_ratio": "1:1",
        "seed": -1,
    }


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        (TEXT.model_copy(update={"duration": 10}), "WaveSpeed text-to-video makes 5-second"),
        (IMAGE.model_copy(update={"resolution": "720P"}), "makes 1080P videos only"),
    ],
)
async def test_refused_options_make_no_http_call(
    wavespeed: WaveSpeed, ws_sim: ProviderSim, request_: VideoRequest, says: str
) -> None:
    with pytest.raises(UnsupportedOption) as caught:
        await wavespeed.submit(request_)
    assert says in caught.value.admin_message
    assert ws_sim.requests == []


async def test_a_job_is_followed_to_a_flagged_video(
    wavespeed: WaveSpeed, ws_sim: ProviderSim
) -> None:
    ws_sim.script(JobScript(queue_seconds=5, run_seconds=20, nsfw=True))
    job_id = await wavespeed.submit(TEXT)
    seen: list[JobUpdate] = []

    async def record(update: JobUpdate) -> None:
        seen.append(update)

    outcome = await wait_for_job(
        wavespeed, job_id, cadence=FAST_CADENCE, deadline=30, on_update=record
    )
    assert isinstance(outcome, Succeeded)
    assert outcome.nsfw is True
    assert outcome.video_url == ws_sim.file_url(f"{job_id}.mp4")
    assert Queued(position=None) in seen
    assert Running() in seen
    gets = {r.path for r in ws_sim.requests if r.method == "GET"}
    assert gets == {f"/api/v3/predictions/{job_id}/result"}


async def test_unflagged_video_is_not_nsfw(wavespeed: WaveSpeed, ws_sim: ProviderSim) -> None:
    ws_sim.script(JobScript(run_seconds=1))
    job_id = await wavespeed.submit(TEXT)
    outcome = await wait_for_job(wavespeed, job_id, cadence=FAST_CADENCE, deadline=30)
    assert isinstance(outcome, Succeeded)
    assert outcome.nsfw is False


async def test_a_failed_job_is_http_200_with_a_reason(
    wavespeed: WaveSpeed, ws_sim: ProviderSim
) -> None:
    ws_sim.script(JobScript(run_seconds=1, outcome="failed", error="out of memory"))
    job_id = await wavespeed.submit(IMAGE)
    outcome = await wait_for_job(wavespeed, job_id, cadence=FAST_CADENCE, deadline=30)
    assert outcome == Failed(reason="out of memory")


async def test_moderation_on_a_result_is_a_moderated_failure(
    wavespeed: WaveSpeed, ws_sim: ProviderSim
) -> None:
    ws_sim.script(JobScript(run_seconds=1e5))
    job_id = await wavespeed.submit(TEXT)
    ws_sim.fault(Fault.wavespeed(1200, kind="result", http_status=200))
    update = await wavespeed.poll(job_id)
    assert isinstance(update, Failed)
    assert update.moderated


@pytest.mark.parametrize(
    ("fault", "error", "refundable"),
    [
        (Fault.wavespeed(1200), ContentModerated, True),
        (Fault.wavespeed(1400), InvalidRequest, True),
        (Fault.wavespeed(1401, http_status=200), InvalidRequest, True),
        (Fault.wavespeed(1402), InputNotFetchable, True),
        (Fault.wavespeed(1403), TaskFailed, True),
        (Fault.wavespeed(1405), TaskFailed, True),
        (Fault.wavespeed(5000), TransientError, True),
        (Fault.wavespeed(5003), TransientError, True),
        (Fault.wavespeed(5004), TransientError, True),
        (
            Fault(kind="post", http_status=401, body={"code": 401, "message": "Unauthorized"}),
            AuthenticationError,
            True,
        ),
        (Fault(kind="post", http_status=429, headers={"Retry-After": "2"}), RateLimited, True),
        (Fault(kind="post", drop="after"), SubmitOutcomeUnknown, False),
    ],
)
async def test_submit_errors_are_classified_and_never_retried(
    wavespeed: WaveSpeed,
    ws_sim: ProviderSim,
    fault: Fault,
    error: type[Exception],
    refundable: bool,
) -> None:
    ws_sim.fault(fault)
    with pytest.raises(error) as caught:
        await wavespeed.submit(TEXT)
    assert len(ws_sim.submits()) == 1
    assert caught.value.refundable is refundable  # type: ignore[attr-defined]


async def test_result_gets_are_retried(wavespeed: WaveSpeed, ws_sim: ProviderSim) -> None:
    ws_sim.script(JobScript(run_seconds=1e5))
    job_id = await wavespeed.submit(TEXT)
    ws_sim.fault(
        Fault(kind="result", http_status=500),
        Fault(kind="result", http_status=429, headers={"Retry-After": "0"}),
        Fault(kind="result", http_status=200, raw=b"{"),
    )
    assert await wavespeed.poll(job_id) == Running()
    assert len([r for r in ws_sim.requests if r.method == "GET"]) == 4
    ws_sim.fault(Fault.wavespeed(5003, kind="result"))
    assert await wavespeed.poll(job_id) == Running()
    assert len([r for r in ws_sim.requests if r.method == "GET"]) == 6


async def test_cancel_is_declared_unsupported_without_a_call(
    wavespeed: WaveSpeed, ws_sim: ProviderSim
) -> None:
    job_id = await wavespeed.submit(TEXT)
    before = len(ws_sim.requests)
    assert await wavespeed.cancel(job_id) is CancelOutcome.UNSUPPORTED
    assert len(ws_sim.requests) == before
