"""Forged buttons and borrowed commands: a custom_id carrying another server's (or member's) job
id is refused and leaves that job alone; /reelbot is refused server-side to non-admins."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.core.jobs.models import Job, JobState
from tests.e2e.harness import (
    ADMIN,
    AUDIT_CHANNEL,
    CHANNEL,
    GUILD,
    MEMBER,
    MODERATOR,
    OTHER_CHANNEL,
    OTHER_MEMBER,
    REVIEW_CHANNEL,
    ROLE,
)
from tests.fakediscord import FakeMessage
from tests.providersim import JobScript
from tests.security._leaks import database_path
from tests.security._world import (
    ADMIN2,
    APPROVAL2,
    CHANNEL2,
    GUILD2,
    MEMBER2,
    OTHER2,
    REVIEW2,
    SecureWorld,
    click_forged,
    secure_world,
)

QUICK = JobScript(run_seconds=5)
LONG_QUEUE = JobScript(queue_seconds=1e6, queue_positions=[4])
NOT_HERE = (
    "I can't find that job here.",
    "I can't find that video here.",
    "I can't find that job on this server.",
)
WATCHED = (
    "state",
    "user_id",
    "guild_id",
    "prompt",
    "seed",
    "cost",
    "refunded",
    "result_deleted",
    "moderator_id",
    "error",
    "provider_job_id",
    "status_message_id",
    "result_message_id",
    "review_message_id",
)


def button(message: FakeMessage, prefix: str) -> str:
    [custom_id] = [c for c in message.custom_ids() if c.startswith(prefix)]
    return custom_id


def snapshot(jobs: list[Job]) -> dict[str, dict[str, Any]]:
    return {j.id: {name: getattr(j, name) for name in WATCHED} for j in jobs}


async def video2(w: SecureWorld, prompt: str, *, user: int, channel: int, provider: str) -> str:
    interaction = await w.video_as(
        user,
        [
            {"name": "prompt", "type": 3, "value": prompt},
            {"name": "provider", "type": 3, "value": provider},
        ],
        guild=GUILD2,
        channel=channel,
    )
    return await w.reply(interaction)


async def admin2(w: SecureWorld, *path: str, **options: Any) -> str:
    return await w.answer(
        await w.command(*path, user=ADMIN2, in_guild=GUILD2, in_channel=CHANNEL2, **options)
    )


async def second_server_jobs(w: SecureWorld) -> dict[str, Job]:
    """In the second server: a delivered job, one queued at the provider, one waiting for
    approval and one held after the provider flagged it."""
    await admin2(w, "review", "channel", channel=REVIEW2)
    await admin2(w, "review", "approval", enabled=True, channel=APPROVAL2)
    await admin2(w, "nsfw-policy", policy="review")
    w.runcomfy.script(QUICK)
    assert "on its way" in await video2(
        w, "theirs, done", user=MEMBER2, channel=CHANNEL2, provider="runcomfy"
    )
    await w.fake.wait_for(lambda: len(w.results(CHANNEL2)) == 1)
    w.runcomfy.script(LONG_QUEUE)
    assert "on its way" in await video2(
        w, "theirs, queued", user=MEMBER2, channel=CHANNEL2, provider="runcomfy"
    )
    assert "approval" in await video2(
        w, "theirs, pending", user=MEMBER2, channel=APPROVAL2, provider="runcomfy"
    )
    w.wavespeed.script(JobScript(run_seconds=5, nsfw=True))
    assert "on its way" in await video2(
        w, "theirs, flagged", user=MEMBER2, channel=CHANNEL2, provider="wavespeed"
    )
    by_prompt = {j.prompt or "": j for j in w.jobs_of(MEMBER2)}
    jobs = {
        "delivered": by_prompt["theirs, done"],
        "queued": by_prompt["theirs, queued"],
        "pending": by_prompt["theirs, pending"],
        "held": by_prompt["theirs, flagged"],
    }
    expected = {
        "delivered": JobState.DELIVERED,
        "queued": JobState.SUBMITTED,
        "pending": JobState.PENDING_REVIEW,
        "held": JobState.HELD,
    }
    for name, job in jobs.items():
        jobs[name] = await w.wait_state(job.id, expected[name])
    await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW2)) == 2)

    def settled() -> bool:
        now = {j.id: j for j in w.jobs()}
        return all(now[jobs[k].id].review_message_id is not None for k in ("pending", "held"))

    await w.fake.wait_for(settled, what="review message ids stored")
    return {name: next(j for j in w.jobs() if j.id == job.id) for name, job in jobs.items()}


async def test_buttons_forged_with_another_servers_job_ids(tmp_path: Path) -> None:
    async with secure_world(
        tmp_path, second_guild=True, quota_limit=50, max_jobs_per_member=10
    ) as w:
        await w.start_bot()
        theirs = await second_server_jobs(w)
        w.runcomfy.script(QUICK)
        assert "on its way" in await w.reply(await w.video("mine", provider="runcomfy"))
        [mine] = await w.wait_for_results(1)
        await w.wait_state(w.jobs_of(MEMBER)[0].id, JobState.DELIVERED)
        before = snapshot(w.jobs())
        ledger_before = [e for e in w.ledger() if e.user_id == MEMBER2]
        their_result = w.results(CHANNEL2)[0]
        their_reviews = w.channel_posts(REVIEW2)
        review_buttons = [m.custom_ids() for m in their_reviews]
        cancels_before = [r for r in w.runcomfy.requests if r.path.endswith("/cancel")]

        attempts = [
            ("cancel", "queued"),
            ("cancel", "pending"),
            ("delete", "delivered"),
            ("reroll", "delivered"),
            ("approve", "pending"),
            ("release", "held"),
            ("discard", "held"),
        ]
        answers: list[str] = []
        for clicker in (ADMIN, MODERATOR, MEMBER):
            for action, which in attempts:
                custom_id = f"reelbot:{action}:{theirs[which].id}"
                click = await click_forged(w, mine, custom_id, user=clicker)
                answers.append(f"{clicker} {action} {which}: {await w.answer(click)}")
        # Reject opens the reason form first, then refuses the foreign job.
        click = await click_forged(w, mine, f"reelbot:reject:{theirs['pending'].id}", user=ADMIN)
        await w.fake.wait_for(lambda: click.modal is not None)
        submitted = await w.fake.submit_modal(click, {"reelbot-reject-reason": "mine now"})
        answers.append(f"reject pending: {await w.answer(submitted)}")
        # An id that exists nowhere.
        click = await click_forged(w, mine, "reelbot:cancel:" + "0" * 32, user=ADMIN)
        answers.append(f"cancel nothing: {await w.answer(click)}")

        refused = [a for a in answers if a.endswith(NOT_HERE)]
        moderators_only = [a for a in answers if "Only moderators" in a]
        # A member without Manage Messages is stopped at the moderator check instead.
        assert sorted(refused + moderators_only) == sorted(answers), answers
        assert all(a.startswith(str(MEMBER)) for a in moderators_only), moderators_only

        assert snapshot(w.jobs()) == before
        assert [e for e in w.ledger() if e.user_id == MEMBER2] == ledger_before
        assert len(w.jobs()) == len(before)
        assert not w.fake.messages[their_result.id].deleted
        assert [m.custom_ids() for m in w.channel_posts(REVIEW2)] == review_buttons
        assert [r for r in w.runcomfy.requests if r.path.endswith("/cancel")] == cancels_before
        assert not w.fake.messages[mine.id].deleted and mine.edits == []
        # Each server's admins read their own audit log only.
        their_log = await admin2(w, "audit")
        our_log = await w.admin("audit")
        mine_id = w.jobs_of(MEMBER)[0].id
        assert "theirs" in their_log and "mine" not in their_log and mine_id not in their_log
        assert "mine" in our_log and "theirs" not in our_log


async def test_members_cannot_act_on_each_others_jobs(tmp_path: Path) -> None:
    async with secure_world(
        tmp_path, second_guild=True, quota_limit=50, max_jobs_per_member=10
    ) as w:
        await w.start_bot()
        theirs = await second_server_jobs(w)
        before = snapshot(w.jobs())
        [result] = w.results(CHANNEL2)
        status = next(
            m for m in w.statuses(channel=CHANNEL2) if m.id == theirs["queued"].status_message_id
        )
        pending_post, held_post = w.channel_posts(REVIEW2)
        clicks = [
            (status, "reelbot:cancel:", "Only the member who asked"),
            (result, "reelbot:delete:", "Only the member who asked"),
            (pending_post, "reelbot:approve:", "Only moderators"),
            (pending_post, "reelbot:reject:", "Only moderators"),
            (held_post, "reelbot:release:", "Only moderators"),
            (held_post, "reelbot:discard:", "Only moderators"),
        ]
        for message, prefix, says in clicks:
            click = await w.fake.click(message, button(message, prefix), user_id=OTHER2)
            answer = await w.answer(click)
            assert says in answer, (prefix, answer)
            assert click.modal is None
        assert snapshot(w.jobs()) == before
        assert not w.fake.messages[result.id].deleted


async def test_a_forged_delete_cannot_remove_someone_elses_result(tmp_path: Path) -> None:
    async with secure_world(tmp_path, quota_limit=50) as w:
        await w.start_bot()
        w.runcomfy.script(QUICK, QUICK)
        assert "on its way" in await w.reply(await w.video("mine", provider="runcomfy"))
        await w.wait_for_results(1)
        assert "on its way" in await w.reply(
            await w.video("theirs", provider="runcomfy", user=OTHER_MEMBER)
        )
        await w.wait_for_results(2)
        mine = await w.wait_state(w.jobs_of(MEMBER)[0].id, JobState.DELIVERED)
        theirs = await w.wait_state(w.jobs_of(OTHER_MEMBER)[0].id, JobState.DELIVERED)
        assert theirs.result_message_id is not None
        victim = w.fake.messages[theirs.result_message_id]
        click = await click_forged(w, victim, f"reelbot:delete:{mine.id}", user=MEMBER)
        await w.answer(click)
        assert not w.fake.messages[victim.id].deleted


# --- /reelbot for non-admins -------------------------------------------------------------------

EVERY_ADMIN_COMMAND: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("settings",), {}),
    (("audit",), {}),
    (("audit",), {"member": MEMBER}),
    (("unknown",), {}),
    (("budget",), {"units": 5}),
    (("nsfw-policy",), {"policy": "discard"}),
    (("audit-channel",), {"channel": OTHER_CHANNEL}),
    (("channels", "allow"), {"channel": OTHER_CHANNEL}),
    (("channels", "disallow"), {"channel": CHANNEL}),
    (("channels", "nsfw-only"), {"enabled": True}),
    (("roles", "allow"), {"role": ROLE}),
    (("roles", "disallow"), {"role": ROLE}),
    (("members", "block"), {"member": MEMBER, "reason": "taking over"}),
    (("members", "unblock"), {"member": OTHER_MEMBER}),
    (("members", "grant"), {"member": MEMBER, "units": 500}),
    (("members", "reset"), {"member": MEMBER}),
    (("members", "ledger"), {"member": OTHER_MEMBER}),
    (("tiers", "set"), {"role": ROLE, "limit": 10_000}),
    (("tiers", "remove"), {"role": GUILD}),
    (("filter", "add-word"), {"word": "anything"}),
    (("filter", "add-regex"), {"pattern": "(a+)+$"}),
    (("filter", "remove"), {"rule": 1}),
    (("filter", "list"), {}),
    (("providers", "enable"), {"provider": "runcomfy"}),
    (("providers", "disable"), {"provider": "wavespeed"}),
    (("providers", "default"), {"provider": "runcomfy"}),
    (("review", "channel"), {"channel": OTHER_CHANNEL}),
    (("review", "approval"), {"enabled": False}),
    (("review", "expiry"), {"hours": 0.1}),
]


def database_rows(w: SecureWorld) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table; the audit log's `forwarded` flag (flipped by the
    forwarder in the background) aside."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with sqlite3.connect(database_path(w.settings.database_url)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
            keep = ", ".join(f'"{c}"' for c in columns if c != "forwarded")
            rows[table] = db.execute(f'SELECT {keep} FROM "{table}"').fetchall()  # noqa: S608
    db.close()
    return rows


@pytest.mark.sqlite_only("snapshots the tables with sqlite3")
async def test_every_admin_command_is_refused_to_members_and_moderators(tmp_path: Path) -> None:
    async with secure_world(tmp_path) as w:
        await w.start_bot()
        # Something for each command to read or change.
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        await w.admin("audit-channel", channel=AUDIT_CHANNEL)
        await w.admin("filter", "add-word", word="secret-word")
        await w.admin("members", "block", member=OTHER_MEMBER, reason="admins only know why")
        await w.admin("tiers", "set", role=GUILD, limit=3)
        before = database_rows(w)
        for user in (MEMBER, MODERATOR):
            for path, options in EVERY_ADMIN_COMMAND:
                answer = await w.admin(*path, user=user, **options)
                assert answer == (
                    "Only members with the Manage Server permission can change Reelbot's settings."
                ), (user, path, answer)
        assert database_rows(w) == before
        shown = " ".join(
            m.text()
            for i in w.fake.interactions.values()
            if i.user_id in (MEMBER, MODERATOR)
            for m in i.messages
        )
        assert "secret-word" not in shown and "admins only know why" not in shown
