"""The small rules the provider layer is built from: retry timing, cadence, capabilities, URLs."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from providers import (
    Mode,
    PollCadence,
    Queued,
    RetryPolicy,
    Running,
    UnsafeURL,
    UnsupportedOption,
    VideoRequest,
)
from providers.retry import backoff_delay, parse_retry_after, retry_delay
from providers.runcomfy import CAPABILITIES as RUNCOMFY
from providers.urls import check_url
from providers.wavespeed import CAPABILITIES as WAVESPEED


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-3") == 0.0


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(1)
    delays = [backoff_delay(attempt, policy, rng) for attempt in range(12) for _ in range(20)]
    assert all(0.0 <= d <= 4.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # jittered, not a fixed ladder
    assert max(backoff_delay(0, policy, rng) for _ in range(50)) <= 0.5


def test_retry_after_wins_over_backoff_but_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    rng = random.Random(1)
    assert retry_delay(0, 12.0, policy, rng) == 12.0
    assert retry_delay(0, 3600.0, policy, rng) == 60.0


def test_cadence_is_quick_first_then_sparse_in_warmup_then_steady_then_backs_off() -> None:
    cadence = PollCadence()  # the defaults the benchmark report measured
    assert (cadence.first_delay, cadence.warmup, cadence.warmup_interval) == (1.0, 20.0, 5.0)
    assert (cadence.interval, cadence.long_job_after, cadence.backoff_per_second) == (
        1.5,
        240.0,
        0.02,
    )
    assert cadence.next_delay(elapsed=0.0, checks=0, last=None) == 1.0
    assert cadence.next_delay(elapsed=1.0, checks=1, last=Running()) == 5.0
    assert cadence.next_delay(elapsed=18.5, checks=4, last=Running()) == 1.5
    assert cadence.next_delay(elapsed=60.0, checks=20, last=Running()) == 1.5
    assert cadence.next_delay(elapsed=230.0, checks=90, last=Running()) == 1.5
    assert cadence.next_delay(elapsed=340.0, checks=90, last=Running()) == pytest.approx(3.5)
    assert cadence.next_delay(elapsed=5000.0, checks=400, last=Running()) == 15.0


def test_cadence_backs_off_while_deep_in_the_queue() -> None:
    cadence = PollCadence(queue_seconds_per_position=3.0, max_interval=15.0)
    assert cadence.next_delay(elapsed=40.0, checks=3, last=Queued(position=2)) == 6.0
    assert cadence.next_delay(elapsed=40.0, checks=3, last=Queued(position=40)) == 15.0
    assert cadence.next_delay(elapsed=40.0, checks=3, last=Queued(position=1)) == 1.5
    eager = PollCadence(queue_seconds_per_position=0.0)  # never a zero wait: no busy-polling
    assert eager.next_delay(elapsed=40.0, checks=3, last=Queued(position=9)) == eager.interval


def _text(**kw: object) -> VideoRequest:
    return VideoRequest(mode=Mode.TEXT, prompt="a cat", **kw)


def _image(**kw: object) -> VideoRequest:
    return VideoRequest(
        mode=Mode.IMAGE,
        prompt="a cat",
        image_url="https://cdn.example.com/cat.png",
        **kw,
    )


def test_prompt_is_trimmed_and_bounded() -> None:
    assert _text().prompt == "a cat"
    assert VideoRequest(mode=Mode.TEXT, prompt="  hi  ").prompt == "hi"
    assert len(VideoRequest(mode=Mode.TEXT, prompt="é" * 800).prompt) == 800
    for bad in ("", "   \n ", "x" * 801, "\u200b\u200d\u2060", "\u3000"):
        with pytest.raises(ValidationError):
            VideoRequest(mode=Mode.TEXT, prompt=bad)
    with pytest.raises(ValidationError, match="control characters"):
        VideoRequest(mode=Mode.TEXT, prompt="a\x00b")
    assert VideoRequest(mode=Mode.TEXT, prompt="two\nlines\tok").prompt == "two\nlines\tok"


def test_seed_range_and_image_rules() -> None:
    assert _text(seed=2_147_483_647).seed == 2_147_483_647
    for bad in (-2, 2_147_483_648):
        with pytest.raises(ValidationError):
            _text(seed=bad)
    with pytest.raises(ValidationError, match="needs an image URL"):
        VideoRequest(mode=Mode.IMAGE, prompt="a cat")
    with pytest.raises(ValidationError, match="takes no image"):
        VideoRequest(mode=Mode.TEXT, prompt="a cat", image_url="https://x.example/a.png")
    with pytest.raises(ValidationError):
        _text(aspect_ratio="2:1")


def test_defaults_are_the_providers_own() -> None:
    text = RUNCOMFY[Mode.TEXT].resolve(_text(), provider="RunComfy")
    assert (text.aspect_ratio, text.duration, text.resolution) == ("16:9", 5, "1080P")
    image = RUNCOMFY[Mode.IMAGE].resolve(_image(), provider="RunComfy")
    assert (image.aspect_ratio, image.duration, image.resolution) == (None, 5, "720P")
    ws = WAVESPEED[Mode.TEXT].resolve(_text(), provider="WaveSpeed")
    assert (ws.aspect_ratio, ws.duration, ws.resolution) == ("16:9", 5, "1080P")


@pytest.mark.parametrize(
    ("caps", "request_", "option", "says"),
    [
        (RUNCOMFY[Mode.TEXT], _text(aspect_ratio="9:21"), "aspect_ratio", "doesn't offer aspect"),
        (RUNCOMFY[Mode.TEXT], _text(resolution="720P"), "resolution", "makes 1080P videos only"),
        (RUNCOMFY[Mode.IMAGE], _image(aspect_ratio="1:1"), "aspect_ratio", "follows the shape"),
        (WAVESPEED[Mode.TEXT], _text(duration=10), "duration", "makes 5-second clips only"),
        (WAVESPEED[Mode.IMAGE], _image(resolution="720P"), "resolution", "1080P videos only"),
    ],
)
def test_unsupported_options_name_the_option_and_the_choices(
    caps: object, request_: VideoRequest, option: str, says: str
) -> None:
    from providers import Capabilities

    assert isinstance(caps, Capabilities)
    with pytest.raises(UnsupportedOption) as caught:
        caps.resolve(request_, provider="P")
    assert caught.value.option == option
    assert says in caught.value.admin_message


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.example.com/a.png",
        "file:///etc/passwd",
        "https://127.0.0.1/a.png",
        "https://localhost/a.png",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/a.png",
        "https://[::1]/a.png",
        "https://user:pw@cdn.example.com/a.png",
        "not a url",
    ],
)
def test_urls_refused_in_production(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_loopback=False, provider="P")


def test_loopback_setting_admits_only_loopback_http() -> None:
    check_url("http://127.0.0.1:8080/a.png", allow_loopback=True, provider="P")
    check_url("https://cdn.example.com/a.png", allow_loopback=False, provider="P")
    for url in (
        "http://10.0.0.5/a.png",
        "http://cdn.example.com/a.png",
        "https://169.254.169.254/",
    ):
        with pytest.raises(UnsafeURL):
            check_url(url, allow_loopback=True, provider="P")
