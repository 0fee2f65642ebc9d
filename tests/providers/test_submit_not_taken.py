"""A submit the provider did not take (429, or a connection never made) is told apart from one
whose outcome is unknown: only the first may be sent again, because no job was created."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from providers import Mode, RateLimited, SubmitNotSent, VideoRequest
from providers.runcomfy import RunComfy
from providers.wavespeed import WaveSpeed
from tests.providers.conftest import KEY
from tests.providersim import ProviderSim

TEXT = VideoRequest(mode=Mode.TEXT, prompt="a lighthouse at dusk", seed=7)


async def test_wavespeed_over_its_submit_rate_answers_429_with_retry_after_and_no_job(
    wavespeed: WaveSpeed, ws_sim: ProviderSim
) -> None:
    ws_sim.limit_submits(2, per_seconds=60)  # the default tier: 2 videos a minute
    first = await wavespeed.submit(TEXT)
    second = await wavespeed.submit(TEXT)
    try:
        await wavespeed.submit(TEXT)
    except RateLimited as error:
        refused = error
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("the third submit within a minute was accepted")
    assert refused.http_status == 429
    # 60 simulated seconds at 100x are 0.6 real seconds: Retry-After is whole seconds.
    assert refused.retry_after == 1.0
    assert refused.refundable
    assert len(ws_sim.submits()) == 3
    assert set(ws_sim.jobs) == {first, second}


async def test_runcomfy_429_carries_retry_after(runcomfy: RunComfy, rc_sim: ProviderSim) -> None:
    rc_sim.limit_submits(1, per_seconds=6000)  # a minute of real time at 100x
    await runcomfy.submit(TEXT)
    try:
        await runcomfy.submit(TEXT)
    except RateLimited as error:
        assert error.retry_after == 60.0
    else:  # pragma: no cover
        raise AssertionError("the second submit was accepted")
    assert len(rc_sim.jobs) == 1


async def test_a_connection_never_made_is_not_sent(http: httpx.AsyncClient) -> None:
    provider = WaveSpeed(client=http, api_key=SecretStr(KEY), base_url="http://127.0.0.1:9")
    try:
        await provider.submit(TEXT)
    except SubmitNotSent as error:
        assert "nothing was submitted" in error.admin_message
        assert KEY not in error.admin_message
    else:  # pragma: no cover
        raise AssertionError("a submit to a closed port succeeded")
