"""Jobs per second through the whole pipeline with instant provider completion.

The real bot in one process with the loopback fake Discord and both provider simulators:
each job is a /video interaction (acknowledge, checks, quota reservation, status message),
then submit, one status check, download of a small MP4 and the result post, with the
provider finishing at once. The figure is completed jobs per second of wall time; the fake
Discord and the simulators run in the same process and share its CPU.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks._report import Section
from tests.e2e.harness import CHANNEL, GUILD, world
from tests.providersim import JobScript, tiny_mp4

NAME = "pipeline"
TITLE = "Whole-pipeline throughput with instant providers"
MEMBERS = list(range(9001, 9041))


async def run(quick: bool) -> Section:
    jobs = 60 if quick else 300
    section = Section()
    with tempfile.TemporaryDirectory() as folder:
        async with world(
            Path(folder),
            quota_limit=100_000,
            max_jobs_per_member=100_000,
            max_concurrent_jobs=64,
            poll_first_delay=0.01,
            poll_interval=0.02,
            status_edit_interval=1.0,
            log_level="WARNING",
        ) as w:
            for member in MEMBERS:
                w.fake.guilds[GUILD].add_member(member, name=f"m{member}")
            video = tiny_mp4(50_000)
            for sim in (w.runcomfy, w.wavespeed):
                sim.default_script = JobScript(video=video)
            w.fake.ack_deadline = None
            # The bot's own cost, not Discord's per-channel limit (that is `status_load`).
            w.fake.rate_limits.enabled = False
            await w.start_bot()
            started = time.perf_counter()
            for number in range(jobs):
                await w.fake.invoke(
                    "video",
                    [
                        {"name": "prompt", "type": 3, "value": f"bench {number}"},
                        {
                            "name": "provider",
                            "type": 3,
                            "value": ("runcomfy", "wavespeed")[number % 2],
                        },
                    ],
                    guild_id=GUILD,
                    channel_id=CHANNEL,
                    user_id=MEMBERS[number % len(MEMBERS)],
                )
            dispatched = time.perf_counter() - started
            await w.fake.wait_for(lambda: len(w.results()) >= jobs, timeout=600)
            elapsed = time.perf_counter() - started
            await w.fake.wait_for(
                lambda: all(j.state.value == "delivered" for j in w.jobs()), timeout=60
            )
            delivered = sum(1 for j in w.jobs() if j.state.value == "delivered")
            posted = len(w.results())
    section.add(
        "jobs delivered (posted)",
        f"{delivered} of {jobs} ({posted} posts)",
        f"{jobs}, each posted once",
        delivered == jobs == posted,
    )
    section.add("throughput", f"{delivered / elapsed:.1f} jobs/s ({elapsed:.1f} s)")
    section.add("commands dispatched", f"{jobs / dispatched:.0f}/s")
    section.note(
        f"{jobs} /video commands from {len(MEMBERS)} members, alternating providers, at most 64 "
        "jobs at the providers at once; the providers finish instantly and serve a 50 kB MP4; "
        "each job is acknowledged, reserved, announced, submitted, polled, downloaded and posted."
    )
    return section
