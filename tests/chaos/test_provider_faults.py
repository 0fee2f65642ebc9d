"""Provider faults at a set rate across many jobs: nothing is lost and each job's outcome is
right. RunComfy gets the submit faults (5xx, 429 which is sent again, connections dropped
before or after the job was created); WaveSpeed gets the polling and result faults (5xx, 429
with Retry-After, slow and malformed answers, result URLs that 404 or serve the wrong type)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

from tests.chaos._scale import scaled
from tests.e2e.harness import CHANNEL, GUILD, world
from tests.providersim import Fault, JobScript, tiny_mp4

JOBS = scaled(40, 300)  # half per provider
RATE = 0.3  # share of jobs that meet a fault
MEMBERS = list(range(8001, 8021))


async def test_faults_at_a_set_rate_lose_nothing(tmp_path: Path) -> None:
    rng = random.Random(7)
    per_provider = JOBS // 2
    async with world(
        tmp_path,
        quota_limit=10_000,
        max_jobs_per_member=10_000,
        max_concurrent_jobs=16,
        http_max_retries=6,
    ) as w:
        for member in MEMBERS:
            w.fake.guilds[GUILD].add_member(member, name=f"m{member}")
        video = tiny_mp4(20_000)

        # RunComfy: one submit "fault" per job, in order (None = answer normally).
        submit_faults: Counter[str] = Counter()
        post_faults = []
        for _ in range(per_provider):
            kind = rng.choices(
                ["ok", "500", "429", "drop-before", "drop-after"],
                weights=[1 - RATE, RATE / 4, RATE / 4, RATE / 4, RATE / 4],
            )[0]
            submit_faults[kind] += 1
            post_faults.append(
                {
                    "ok": Fault(kind="post", http_status=None),
                    "500": Fault.runcomfy(500001),
                    "429": Fault(kind="post", http_status=429, headers={"Retry-After": "1"}),
                    "drop-before": Fault(kind="post", drop="before"),
                    "drop-after": Fault(kind="post", drop="after"),
                }[kind]
            )
        w.runcomfy.fault(*post_faults)
        w.runcomfy.default_script = JobScript(
            queue_seconds=10, queue_positions=[2, 1], run_seconds=20, video=video
        )

        # WaveSpeed: result files that 404 or are not videos, and noisy polling.
        scripts = []
        bad_files = 0
        for _ in range(per_provider):
            roll = rng.random()
            if roll < RATE / 3:
                scripts.append(JobScript(run_seconds=20, video=video, result_status=404))
                bad_files += 1
            elif roll < 2 * RATE / 3:
                scripts.append(
                    JobScript(run_seconds=20, video=b"<html>nope</html>", content_type="text/html")
                )
                bad_files += 1
            else:
                scripts.append(JobScript(run_seconds=20, video=video))
        w.wavespeed.script(*scripts)
        noisy = per_provider * 3
        w.wavespeed.fault(
            *[
                rng.choice(
                    [
                        Fault(kind="result", http_status=503),
                        Fault(kind="result", http_status=429, headers={"Retry-After": "0"}),
                        Fault(kind="result", http_status=200, raw=b"{not json"),
                        Fault(kind="result", http_status=None, delay=0.2),
                        Fault.wavespeed(5003, kind="result"),
                    ]
                )
                for _ in range(noisy)
            ]
        )

        await w.start_bot()
        for number in range(JOBS):
            provider = "runcomfy" if number % 2 == 0 else "wavespeed"
            await w.fake.invoke(
                "video",
                [
                    {"name": "prompt", "type": 3, "value": f"fault clip {number}"},
                    {"name": "provider", "type": 3, "value": provider},
                ],
                guild_id=GUILD,
                channel_id=CHANNEL,
                user_id=MEMBERS[number % len(MEMBERS)],
            )
        await w.fake.wait_for(
            lambda: len(w.jobs()) == JOBS and all(j.state.is_final for j in w.jobs()),
            timeout=240,
        )
        await asyncio.sleep(0.5)
        jobs = w.jobs()
        results = w.results()

    by_provider: dict[str, Counter[str]] = {"runcomfy": Counter(), "wavespeed": Counter()}
    for job in jobs:
        by_provider[job.provider][job.state.value] += 1
    rc, ws = by_provider["runcomfy"], by_provider["wavespeed"]
    # Submit faults: lost answers and 500s after sending are unknown (a paid job may exist:
    # never resubmitted, never refunded), and a 429 (no job created) is sent again after
    # Retry-After and delivered.
    maybe_created = submit_faults["drop-before"] + submit_faults["drop-after"]
    assert rc["unknown"] == maybe_created + submit_faults["500"], rc
    assert rc["failed"] == 0, rc
    assert rc["delivered"] == submit_faults["ok"] + submit_faults["429"], rc
    assert len(w.runcomfy.submits()) == per_provider + submit_faults["429"]
    # Polling faults are ridden out; bad result files fail with a refund.
    assert ws["failed"] == bad_files and ws["delivered"] == per_provider - bad_files, ws
    assert len(w.wavespeed.submits()) == per_provider
    # Exactly one post per delivered job, with the right bytes; refunds exactly where due.
    posted = Counter(c for m in results for c in m.custom_ids() if c.startswith("reelbot:reroll:"))
    for job in jobs:
        expected = 1 if job.state.value == "delivered" else 0
        assert posted[f"reelbot:reroll:{job.id}"] == expected, job
        assert job.refunded == (job.state.value in ("failed", "cancelled")), job
    assert all(m.files[0].data == video for m in results)
    assert list((w.settings.work_dir / "tmp").iterdir()) == []
