"""Several bot processes on one real PostgreSQL, one shard each, against one fake Discord with
2 shards (Discord docs topics/gateway "Sharding") and one provider account whose concurrency
limit is `MAX_CONCURRENT_JOBS`. One story, so the processes start only a few times:

1. two processes started at the same moment on an empty database both come up (one migrates
   under the advisory lock, the other waits) and the commands are synced once;
2. jobs from servers on both shards are delivered exactly once, and the provider never has
   more than `MAX_CONCURRENT_JOBS` of them at once across both processes;
3. the process holding shard 0 is SIGKILLed while its jobs are at the provider: the other one
   finishes every job exactly once (one submit, one result, one charge each);
4. two new processes for shard 0 (a rolling restart's overlap): eight concurrent /video from
   one member with a quota of 3, half to each process -> exactly 3 accepted and charged, the
   others refused with the quota message;
5. the rolling restart ends: SIGTERM to one of them while its jobs are at the provider;
   they are handed over and delivered exactly once;
6. Cancel pressed in a server of shard 0 on a job the shard-1 process drives (it took it
   over in 3) cancels it at the provider and refunds it.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core import migrations
from tests import testdb
from tests.e2e.harness import (
    BOT_TOKEN,
    CHANNEL,
    GUILD,
    MEMBER,
    OTHER_MEMBER,
    PROVIDER_KEY,
    World,
    world,
)
from tests.e2e.processes import BotProcess, spawn_bot
from tests.providersim import JobScript, peak_in_flight

pytestmark = pytest.mark.skipif(
    not testdb.on_postgresql(), reason="several processes on PostgreSQL (REELBOT_TEST_DB)"
)

# (guild_id >> 22) % 2: GUILD (4100) is on shard 0, this one on shard 1.
GUILD_ON_1 = (1 << 22) | 4100
CHANNEL_ON_1 = (1 << 22) | 4200
MEMBER_ON_1 = 5099
CAP = 3  # MAX_CONCURRENT_JOBS: the provider account's concurrency limit
QUOTA = 3
# About 3 s at the provider (the simulators run 100 simulated seconds per real one).
AT_THE_PROVIDER = JobScript(queue_seconds=100, run_seconds=200)
FOREVER_QUEUED = JobScript(queue_seconds=1e9)  # RunComfy cancels queued jobs


def rows(w: World, query: str) -> list[tuple[object, ...]]:
    return testdb.rows(w.settings.database_url, query)


@dataclass(frozen=True)
class Row:
    id: str
    prompt: str
    state: str
    user_id: int
    result_message_id: object


def jobs(w: World) -> dict[str, Row]:
    """Every job by prompt, read from outside the bots."""
    found = rows(w, "SELECT id, prompt, state, user_id, result_message_id FROM job")
    return {
        str(prompt): Row(str(job_id), str(prompt), str(state), int(str(user)), result)
        for job_id, prompt, state, user, result in found
    }


def ledger(w: World, job_id: str) -> Counter[str]:
    return Counter(
        str(kind)
        for owner, kind in rows(w, "SELECT job_id, kind FROM quota_ledger")
        if owner == job_id
    )


def accepted_by(process: BotProcess) -> list[str]:
    return re.findall(r"job (\w+) accepted \(", process.log_text())


def submitted_prompts(w: World) -> Counter[str]:
    return Counter(
        r.json["prompt"]
        for sim in (w.runcomfy, w.wavespeed)
        for r in sim.submits()
        if isinstance(r.json, dict)
    )


async def assert_delivered_once_charged_once(w: World, prompts: list[str]) -> None:
    # A job is marked delivered after its result is posted and the post's follow-ups are done:
    # on a loaded machine, seconds after the post the caller waited for.
    await w.fake.wait_for(
        lambda: all(jobs(w)[p].state == "delivered" for p in prompts),
        timeout=30,
        what=f"every one of {prompts} delivered",
    )
    sent = submitted_prompts(w)
    found = jobs(w)
    for prompt in prompts:
        job = found[prompt]
        assert job.state == "delivered", job
        assert sent[prompt] == 1, (prompt, sent[prompt])
        assert ledger(w, job.id) == Counter(["reserve", "commit"]), job
        assert job.result_message_id is not None


def results(w: World) -> list[str]:
    """Every result post, in both servers' channels (each names its job in its buttons)."""
    return [
        custom_id
        for channel in (CHANNEL, CHANNEL_ON_1)
        for message in w.results(channel)
        for custom_id in message.custom_ids()
        if custom_id.startswith("reelbot:reroll:")
    ]


async def video(
    w: World, prompt: str, *, guild_id: int, channel_id: int, user_id: int, provider: str
) -> str:
    interaction = await w.fake.invoke(
        "video",
        [
            {"name": "prompt", "type": 3, "value": prompt},
            {"name": "provider", "type": 3, "value": provider},
        ],
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        timeout=30,
    )
    return await w.reply(interaction, timeout=30)


async def spawn_shard(w: World, name: str, shard: int) -> BotProcess:
    return await spawn_bot(
        w, w.tmp / f"{name}.log", DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS=str(shard)
    )


def add_second_server(w: World) -> None:
    w.fake.shard_count = 2
    w.fake.gateway.max_concurrency = 2  # shards 0 and 1 identify in different buckets
    guild = w.fake.add_guild(GUILD_ON_1)
    guild.add_channel(CHANNEL_ON_1, name="videos")
    guild.add_member(MEMBER_ON_1, name="far-member")
    assert (w.fake.shard_of(GUILD), w.fake.shard_of(GUILD_ON_1)) == (0, 1)


async def test_processes_on_one_postgresql_share_the_work_exactly_once(tmp_path: Path) -> None:
    async with world(
        tmp_path,
        discord_guild_ids=f"{GUILD},{GUILD_ON_1}",
        quota_limit=QUOTA,
        max_jobs_per_member=10,
        max_concurrent_jobs=CAP,
        lease_seconds=3,
    ) as w:
        add_second_server(w)
        w.wavespeed.default_script = AT_THE_PROVIDER
        assert rows(w, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
        processes: dict[str, BotProcess] = {}
        try:
            await _story(w, processes)
        finally:
            for process in processes.values():
                await process.stop()
    for name, process in processes.items():
        text = process.log_text()
        if name != "first-0":  # SIGKILLed
            assert process.process.returncode == 0, (name, text[-3000:])
        for secret in (BOT_TOKEN, PROVIDER_KEY, testdb.PASSWORD):
            assert secret not in text, name


async def _story(w: World, processes: dict[str, BotProcess]) -> None:
    # 1. Both at the same moment, on an empty database.
    first_0, first_1 = await asyncio.gather(
        spawn_shard(w, "first-0", 0), spawn_shard(w, "first-1", 1)
    )
    processes.update({"first-0": first_0, "first-1": first_1})
    await w.fake.wait_until_connected(timeout=60, guild_id=GUILD)
    await w.fake.wait_until_connected(timeout=60, guild_id=GUILD_ON_1)
    assert rows(w, "SELECT version_num FROM alembic_version") == [(migrations.head(),)]
    for guild_id in (GUILD, GUILD_ON_1):
        prefix = f"/applications/{w.fake.application_id}/guilds/{guild_id}/commands"
        assert sorted(r.method for r in w.fake.requests if r.path == prefix) == ["GET", "PUT"]
    syncing = ["not syncing commands" not in p.log_text() for p in (first_0, first_1)]
    assert syncing == [True, False]

    # 2 and 3. A job that stays queued at RunComfy (for the cancel in 5), then two more in
    # shard 0's server and three in shard 1's, all at WaveSpeed.
    w.runcomfy.script(FOREVER_QUEUED)
    held = "shard 0: stays queued"
    assert "on its way" in await video(
        w, held, guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER, provider="runcomfy"
    )
    await w.fake.wait_for(lambda: len(w.runcomfy.submits()) == 1, timeout=30)
    on_0 = [f"shard 0: clip {n}" for n in range(2)]
    on_1 = [f"shard 1: clip {n}" for n in range(3)]
    replies = await asyncio.gather(
        *(
            video(w, p, guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER, provider="wavespeed")
            for p in on_0
        ),
        *(
            video(
                w,
                p,
                guild_id=GUILD_ON_1,
                channel_id=CHANNEL_ON_1,
                user_id=MEMBER_ON_1,
                provider="wavespeed",
            )
            for p in on_1
        ),
    )
    assert all("on its way" in reply for reply in replies), replies
    assert len(accepted_by(first_0)) == 3 and len(accepted_by(first_1)) == 3

    # SIGKILL shard 0's process once one of its WaveSpeed jobs is at the provider, and none
    # is in the middle of its submit: a submit cut off there may have reached the provider, and
    # with no idempotency key (../shared/docs/PROVIDERS.md) it is reported as unknown, never
    # sent again. On a slow machine the kill could land in that window.
    def at_the_provider_and_none_submitting() -> bool:
        found = jobs(w)
        return any(p in submitted_prompts(w) for p in on_0) and all(
            found[p].state != "submitting" for p in on_0
        )

    await w.fake.wait_for(at_the_provider_and_none_submitting, timeout=60)
    first_0.process.kill()
    await first_0.process.wait()
    await w.fake.wait_for(lambda: len(results(w)) == 5, timeout=90)
    await asyncio.sleep(1.0)  # nothing more may arrive
    assert len(results(w)) == len(set(results(w))) == 5
    await assert_delivered_once_charged_once(w, on_0 + on_1)
    held_id = jobs(w)[held].id
    assert jobs(w)[held].state in ("submitted", "running")
    assert f"job {held_id}: resuming after a restart" in first_1.log_text()
    assert peak_in_flight([*w.runcomfy.jobs.values(), *w.wavespeed.jobs.values()]) <= CAP

    # 4. A rolling restart's overlap: two processes for shard 0. One member's eight commands,
    # at once, half of them to each.
    new_0, newer_0 = await asyncio.gather(spawn_shard(w, "new-0", 0), spawn_shard(w, "newer-0", 0))
    processes.update({"new-0": new_0, "newer-0": newer_0})
    await w.fake.wait_for(lambda: len(w.fake.gateway.holding(GUILD)) == 2, timeout=60)
    sessions = w.fake.gateway.holding(GUILD)
    asked = [
        w.fake.invoke(
            "video",
            [
                {"name": "prompt", "type": 3, "value": f"quota {n}"},
                {"name": "provider", "type": 3, "value": "wavespeed"},
            ],
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=OTHER_MEMBER,
            via=sessions[n % 2],
        )
        for n in range(8)
    ]
    interactions = await asyncio.gather(*asked)
    replies = await asyncio.gather(*(w.reply(i, timeout=30) for i in interactions))
    assert sum("on its way" in r for r in replies) == QUOTA, replies
    assert sum(f"used {QUOTA} of your {QUOTA} video units" in r for r in replies) == 8 - QUOTA
    taken = [job for job in jobs(w).values() if job.user_id == OTHER_MEMBER]
    assert len(taken) == QUOTA
    reserved = [
        amount
        for user, kind, amount in rows(w, "SELECT user_id, kind, amount FROM quota_ledger")
        if user == OTHER_MEMBER and kind == "reserve"
    ]
    assert reserved == [1] * QUOTA

    # 5. The rolling restart ends: SIGTERM to a shard-0 process that accepted quota jobs, once
    # they are at the provider (none with its submit on the wire): they are handed over.
    quota_ids = {job.id for job in taken}
    old = new_0 if set(accepted_by(new_0)) & quota_ids else newer_0
    mine = [j for j in accepted_by(old) if j in quota_ids]
    assert mine

    def at_provider() -> bool:
        states = [job.state for job in jobs(w).values() if job.id in mine]
        return "submitting" not in states and any(s in ("submitted", "running") for s in states)

    await w.fake.wait_for(at_provider, timeout=60)
    await old.stop(timeout=30)
    assert old.process.returncode == 0 and "stopped cleanly" in old.log_text()

    # 6. Cancel, clicked in shard 0's server, on the job shard 1's process took over.
    status = next(m for m in w.statuses() if f"reelbot:cancel:{held_id}" in m.custom_ids())
    click = await w.fake.click(status, f"reelbot:cancel:{held_id}", user_id=MEMBER)
    assert "Cancelled" in await w.reply(click, timeout=30)
    assert jobs(w)[held].state == "cancelled"
    [sim_job] = w.runcomfy.jobs.values()
    assert sim_job.cancelled
    assert ledger(w, held_id) == Counter(["reserve", "refund"])
    await w.fake.wait_for(lambda: "Cancelled" in str(w.fake.messages[status.id].embeds), timeout=30)

    await w.fake.wait_for(lambda: len(results(w)) == 5 + QUOTA, timeout=90)
    await asyncio.sleep(1.0)
    assert len(results(w)) == len(set(results(w))) == 5 + QUOTA
    await assert_delivered_once_charged_once(w, [job.prompt for job in taken])
    live = "".join(p.log_text() for p in (first_1, new_0, newer_0) if p is not old)
    for job_id in mine:
        assert f"job {job_id}: resuming after a restart" in live or (
            f"job {job_id}: taking over a waiting job" in live
        )
    assert peak_in_flight([*w.runcomfy.jobs.values(), *w.wavespeed.jobs.values()]) <= CAP
