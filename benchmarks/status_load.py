"""Status updates under Discord's rate limits: do they slow delivery?

The real bot against the loopback fake Discord, which enforces Discord's limits (message
creates and edits share a bucket of 5 per 5 s per channel; 50 requests/s per bot; 429 with
`retry_after`), and the RunComfy simulator. 100 /video in one channel, then 100 spread over
10 channels; each with the coalescing status editor, and again with status updates turned
off (the presenter records nothing; status messages are still posted, results too). Time is
scaled: Discord's window and the provider's job time both run `SCALE` times faster.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._report import Section
from bot.core.jobs.contracts import Presenter
from bot.core.jobs.models import Job
from providers import Downloaded
from tests.e2e.harness import CHANNEL, GUILD, MEMBER, world
from tests.fakediscord import FakeDiscord, Limit
from tests.providersim import JobScript, ProviderSim

NAME = "status_load"
TITLE = "Status updates under Discord's per-channel limit"
SCALE = 20.0  # Discord's 5 s window -> 0.25 s; a 60 s job -> 3 s
JOB_SECONDS = 60.0
SLOTS = 10
SIM_SCALE = 100.0  # the harness's simulator time scale
TARGET = 1.10


class _NoStatus:
    """The presenter with status updates turned off."""

    def __init__(self, inner: Presenter) -> None:
        self.inner = inner

    async def show_status(self, job: Job, *, waiting_position: int | None = None) -> bool:
        return True

    async def deliver(self, job: Job, video: Downloaded | None) -> int:
        return await self.inner.deliver(job, video)

    async def hold_for_review(self, job: Job, video: Downloaded | None) -> int:
        return await self.inner.hold_for_review(job, video)

    async def find_delivery(self, job: Job) -> int | None:
        return await self.inner.find_delivery(job)

    async def find_status(self, job: Job) -> tuple[int, str | None] | None:
        return await self.inner.find_status(job)

    async def fresh_image_url(self, job: Job) -> str | None:
        return await self.inner.fresh_image_url(job)


@dataclass(frozen=True)
class Outcome:
    seconds: float
    edits: int
    posts: int
    limited: int
    utilisation: float


def _results(fake: FakeDiscord) -> int:
    return sum(
        1
        for m in list(fake.messages.values())
        if any(c.startswith("reelbot:reroll:") for c in m.custom_ids())
    )


def _utilisation(sim: ProviderSim, since: float) -> float:
    jobs = list(sim.jobs.values())
    busy = sum(j.completed_at - j.submitted_at for j in jobs)
    return busy / (SLOTS * (max(j.completed_at for j in jobs) - since))


async def _one_run(*, jobs: int, channels: int, status: bool) -> Outcome:
    with tempfile.TemporaryDirectory() as folder:
        async with world(
            Path(folder),
            quota_limit=100_000,
            max_jobs_per_member=100_000,
            max_concurrent_jobs=SLOTS,
            lease_seconds=600,
            status_edit_interval=3.0 / SCALE,
            log_level="WARNING",
        ) as w:
            targets = [CHANNEL] + [CHANNEL + 1000 + n for n in range(channels - 1)]
            for channel in targets[1:]:
                w.fake.guilds[GUILD].add_channel(channel, name=f"videos-{channel}")
            w.fake.ack_deadline = None
            w.fake.rate_limits.channel_messages = Limit(5, 5.0 / SCALE)
            w.fake.rate_limits.global_limit = int(50 * SCALE)
            run_ms = JOB_SECONDS * SIM_SCALE / SCALE
            w.runcomfy.default_script = JobScript(
                queue_seconds=run_ms * 0.2, queue_positions=[3, 2, 1], run_seconds=run_ms * 0.8
            )
            bot = await w.start_bot()
            if not status:
                bot.runner.presenter = _NoStatus(bot.presenter)
            since = w.runcomfy.now()
            started = time.perf_counter()
            for n in range(jobs):
                await w.fake.invoke(
                    "video",
                    [
                        {"name": "prompt", "type": 3, "value": f"bench {n}"},
                        {"name": "provider", "type": 3, "value": "runcomfy"},
                    ],
                    guild_id=GUILD,
                    channel_id=targets[n % channels],
                    user_id=MEMBER,
                )
            while _results(w.fake) < jobs:
                if time.perf_counter() - started > 900:
                    raise TimeoutError(f"only {_results(w.fake)} of {jobs} delivered")
                await asyncio.sleep(0.05)
            seconds = time.perf_counter() - started
            edits = sum(
                1
                for r in w.fake.requests
                if r.method == "PATCH" and r.path.startswith("/channels/") and r.status == 200
            )
            posts = sum(
                1
                for r in w.fake.requests
                if r.method == "POST" and r.path.startswith("/channels/") and r.status == 200
            )
            return Outcome(
                seconds=seconds,
                edits=edits,
                posts=posts,
                limited=w.fake.rate_limits.count(),
                utilisation=_utilisation(w.runcomfy, since),
            )


async def run(quick: bool) -> Section:
    jobs = 30 if quick else 100
    section = Section()
    for channels in (1, 10):
        on = await _one_run(jobs=jobs, channels=channels, status=True)
        off = await _one_run(jobs=jobs, channels=channels, status=False)
        where = "one channel" if channels == 1 else f"{channels} channels"
        ratio = on.seconds / off.seconds
        section.add(
            f"{jobs} jobs in {where}: time to deliver all, status on / off",
            f"{on.seconds:.1f} s / {off.seconds:.1f} s ({ratio:.2f}×)",
            f"≤ {TARGET:.2f}×",
            met=ratio <= TARGET,
        )
        section.add(
            f"{jobs} jobs in {where}: status edits sent (on / off)",
            f"{on.edits} / {off.edits} ({on.edits / jobs:.1f} per job)",
        )
        section.add(
            f"{jobs} jobs in {where}: provider slot utilisation (on / off)",
            f"{on.utilisation:.0%} / {off.utilisation:.0%}",
        )
        section.add(
            f"{jobs} jobs in {where}: channel posts; 429s from the fake (on / off)",
            f"{on.posts}; {on.limited} / {off.posts}; {off.limited}",
        )
    section.note(
        f"Time scaled {SCALE:.0f}×: Discord's per-channel bucket is 5 per {5.0 / SCALE:.2f} s "
        f"(5 per 5 s real) and the global limit {int(50 * SCALE)}/s; each job takes "
        f"{JOB_SECONDS / SCALE:.1f} s at the provider ({JOB_SECONDS:.0f} s real, 20 % queued "
        f"with positions 3, 2, 1); {SLOTS} provider slots (MAX_CONCURRENT_JOBS); "
        f"STATUS_EDIT_INTERVAL {3.0 / SCALE:.2f} s (3 s real)."
    )
    section.note(
        "All /video are sent at once, round-robin over the channels. Delivery time: first "
        "/video to the last result posted. Slot utilisation: the simulator's busy job time "
        "over slots × (first /video to last completion). Status off: the runner's presenter "
        "records nothing (status messages are still posted when a job is accepted)."
    )
    return section
