"""Metrics, health answers and JSON logs of the real bot, against the fake Discord and the
provider simulators: what an admin pointing Prometheus at it would see."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core.jobs.models import JobState
from bot.core.observability import logs
from tests.e2e.harness import BOT_TOKEN, MEMBER, OTHER_MEMBER, PROVIDER_KEY, world
from tests.e2e.ports import free_port
from tests.providersim import JobScript
from tests.security._leaks import LeakScan, database_path
from tests.testdb import on_postgresql

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text answer, parsed by prometheus_client's own parser."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """LOG_FORMAT=json into a buffer, as `reelbot run` sets it up; the test's handlers after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    logs.configure(level="INFO", fmt="json", stream=buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


async def test_metrics_move_as_jobs_run_and_logs_carry_the_job(
    tmp_path: Path, json_logs: io.StringIO
) -> None:
    port, hook_port = free_port(), free_port()
    async with world(
        tmp_path,
        metrics_listen=f"127.0.0.1:{port}",
        webhook_public_url=f"http://127.0.0.1:{hook_port}",
        webhook_listen=f"127.0.0.1:{hook_port}",
        quota_limit=2,
    ) as w:
        w.fake.rate_limits.global_limit = 4  # some of the bot's requests will get a 429
        await w.start_bot()
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            before = samples((await client.get("/metrics")).text)
            w.wavespeed.script(JobScript(queue_seconds=5, run_seconds=20))
            await w.video("a lighthouse", provider="wavespeed")
            await w.video("a harbour", provider="runcomfy")
            await w.wait_for_state(JobState.DELIVERED, count=2)
            refused = await w.video("one too many", provider="runcomfy")
            assert "2 of your 2 video units" in await w.reply(refused)
            await w.video("another member's", provider="runcomfy", user=OTHER_MEMBER)
            await w.wait_for_state(JobState.DELIVERED, count=3)
            answer = await client.get("/metrics")
            live = await client.get("/livez")
            ready = await client.get("/readyz")

        assert answer.status_code == 200
        after = samples(answer.text)
        for provider, jobs in (("wavespeed", 1), ("runcomfy", 2)):
            name = "reelbot_submissions_total"
            assert value(before, name, provider=provider, mode="text") == 0
            assert value(after, name, provider=provider, mode="text") == jobs
            outcome = {"provider": provider, "mode": "text", "outcome": "delivered"}
            assert value(after, "reelbot_outcomes_total", **outcome) == jobs
            histogram = "reelbot_submit_to_delivery_seconds_count"
            assert value(after, histogram, provider=provider) == jobs
            sim = w.wavespeed if provider == "wavespeed" else w.runcomfy
            checks = sum(1 for r in sim.requests if r.kind in ("status", "result"))
            counted = value(
                after, "reelbot_provider_requests_total", provider=provider, kind="status"
            )
            assert counted == checks > 0
        assert value(after, "reelbot_jobs", state="delivered") == 3
        assert value(after, "reelbot_quota_refusals_total", reason="quota") == 1
        assert value(after, "reelbot_webhooks_total", result="accepted") == 1
        notice = "reelbot_completion_to_notice_seconds_count"
        assert value(after, notice, provider="wavespeed") == 1
        assert value(after, "reelbot_event_loop_lag_seconds_count") >= 1
        assert ("reelbot_gateway_latency_seconds", (("shard", "0"),)) in after
        assert w.fake.rate_limits.count() > 0
        assert value(after, "reelbot_discord_rate_limits_total") == w.fake.rate_limits.count()
        assert (live.status_code, ready.status_code) == (200, 200)
        assert ready.json() == {"discord": True, "database": True, "leases": True}

        # JSON logs: every line is one object; the job's lines carry its ids.
        lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
        job = next(j for j in w.jobs() if j.provider == "wavespeed")
        tagged = [line for line in lines if line.get("job_id") == job.id]
        assert any(line.get("provider_job_id") == job.provider_job_id for line in tagged)
        assert any("delivered" in line["message"] for line in tagged)
        assert any(line.get("interaction_id") for line in tagged)
        assert all(line.get("guild_id") in (None, job.guild_id) for line in tagged)

        # No secret in any metric label or value, health answer or log field.
        scan = LeakScan(
            {
                "discord token": BOT_TOKEN,
                "provider key": PROVIDER_KEY,
                "webhook secret": w.wavespeed.webhook_secret,
            }
        )
        scan.text("/metrics", answer.text)
        scan.text("/readyz", ready.text)
        scan.text("/livez", live.text)
        scan.text("JSON logs", json_logs.getvalue())
        assert scan.findings == []
        assert MEMBER  # the member whose quota ran out is the harness's default


@pytest.mark.skipif(on_postgresql(), reason="removes the SQLite file")
async def test_readyz_turns_503_when_the_database_is_gone(tmp_path: Path) -> None:
    port = free_port()
    async with world(tmp_path, metrics_listen=f"127.0.0.1:{port}") as w:
        await w.start_bot()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/readyz")).status_code == 200
            database_path(w.settings.database_url).unlink()
            gone = await client.get("/readyz")
            alive = await client.get("/livez")
        assert gone.status_code == 503
        assert gone.json() == {"discord": True, "database": False, "leases": True}
        assert alive.status_code == 200
