"""WaveSpeed callbacks at the wire: what the simulator sends (signed as WaveSpeed documents)
against the bot's verifier, the `?webhook=` submit, and the secret endpoint."""

from __future__ import annotations

import asyncio
import base64
import time

import pytest
from pydantic import SecretStr

from providers import Mode, ProviderName, VideoRequest
from providers.polling import PollCadence
from providers.wavespeed import WaveSpeed
from providers.webhooks import ReplayGuard, Wakeups, WebhookRefused, verify
from tests.providersim import JobScript, ProviderSim, signed_headers

# A secret whose tail is valid base64: a verifier that base64-decodes it gets another key.
SECRET = "whsec_" + base64.b64encode(b"sixteen byte key").decode()
BODY = b'{"id":"job1","status":"completed","outputs":["https://x/v.mp4"]}'


def headers(body: bytes = BODY, *, age: float = 0.0, secret: str = SECRET) -> dict[str, str]:
    return {
        k.lower(): v
        for k, v in signed_headers(
            secret, body, webhook_id="msg_1", timestamp=int(time.time() - age)
        ).items()
    }


def test_a_callback_signed_as_documented_is_accepted() -> None:
    callback = verify(headers=headers(), body=BODY, secret=SecretStr(SECRET))
    assert (callback.webhook_id, callback.job_id, callback.status) == (
        "msg_1",
        "job1",
        "completed",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-signature": None}, "unsigned"),
        ({"webhook-id": None}, "unsigned"),
        ({"webhook-timestamp": "yesterday"}, "Unix seconds"),
        ({"webhook-id": "msg_2"}, "bad signature"),
        ({"webhook-signature": "v1,00"}, "bad signature"),
    ],
)
def test_a_tampered_or_unsigned_callback_is_refused(
    change: dict[str, str | None], reason: str
) -> None:
    sent = headers()
    for key, value in change.items():
        if value is None:
            del sent[key]
        else:
            sent[key] = value
    with pytest.raises(WebhookRefused, match=reason):
        verify(headers=sent, body=BODY, secret=SecretStr(SECRET))


def test_a_changed_body_is_refused() -> None:
    with pytest.raises(WebhookRefused, match="bad signature"):
        verify(headers=headers(), body=BODY.replace(b"job1", b"job2"), secret=SecretStr(SECRET))


def test_the_key_is_the_secret_text_not_its_base64_decoding() -> None:
    decoded = base64.b64decode(SECRET.removeprefix("whsec_"))
    forged = {
        k.lower(): v
        for k, v in signed_headers(
            "whsec_" + decoded.decode(), BODY, webhook_id="msg_1", timestamp=int(time.time())
        ).items()
    }
    with pytest.raises(WebhookRefused, match="bad signature"):
        verify(headers=forged, body=BODY, secret=SecretStr(SECRET))


def test_a_callback_older_than_300_seconds_is_refused() -> None:
    verify(headers=headers(age=290), body=BODY, secret=SecretStr(SECRET))
    with pytest.raises(WebhookRefused, match="stale"):
        verify(headers=headers(age=310), body=BODY, secret=SecretStr(SECRET))


def test_a_replayed_webhook_id_is_seen_once() -> None:
    guard = ReplayGuard(window=600)
    assert guard.first_time("msg_1", now=0.0)
    assert not guard.first_time("msg_1", now=10.0)
    assert guard.first_time("msg_2", now=10.0)


async def test_submit_asks_for_a_callback_and_the_simulator_calls_back(
    ws_sim: ProviderSim, wavespeed: WaveSpeed
) -> None:
    from aiohttp import web

    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/webhooks/wavespeed", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        wavespeed.webhook_url = f"http://{host}:{port}/webhooks/wavespeed"
        ws_sim.script(JobScript(queue_seconds=1, run_seconds=5))
        job_id = await wavespeed.submit(VideoRequest(mode=Mode.TEXT, prompt="a fox"))
        [submit] = ws_sim.submits()
        assert submit.query == {"webhook": wavespeed.webhook_url}
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.01)
        [(sent, body)] = received
        secret = await wavespeed.webhook_secret()
        assert secret.get_secret_value() == ws_sim.webhook_secret
        callback = verify(headers=sent, body=body, secret=secret)
        assert (callback.job_id, callback.status) == (job_id, "completed")
    finally:
        await runner.cleanup()


async def test_a_callback_wakes_only_the_job_it_names() -> None:
    wakeups = Wakeups(providers=frozenset({ProviderName.WAVESPEED}), cadence=PollCadence())
    with wakeups.watch(ProviderName.WAVESPEED, "a") as event:
        assert not wakeups.wake(ProviderName.WAVESPEED, "b")
        assert not event.is_set()
        assert wakeups.wake(ProviderName.WAVESPEED, "a")
        assert event.is_set()
    assert not wakeups.wake(ProviderName.WAVESPEED, "a")  # no longer polled
