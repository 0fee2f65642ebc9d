"""SIGKILL the bot at each narrow window of a job's life, on purpose rather than by luck.

Each life starts the bot as a real process, lets it finish what earlier lives left, then sends
one job and kills the process exactly when that job reaches the aimed point. The aim is taken
without any hook in the bot: the fake Discord holds the chosen request (the status post, the
result post, the final status edit; either lost on the way or applied with its answer lost),
and the provider simulator holds the submit POST or the download. After the last life every
job must have ended exactly once, as a member and an admin would check it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.chaos._scale import FULL
from tests.chaos.test_crash_restart import db_rows, results_for
from tests.e2e.harness import CHANNEL, GUILD, World, png, world
from tests.e2e.test_restart import spawn, stop
from tests.fakediscord import FakeMessage
from tests.providersim import Fault, JobScript, ProviderSim, tiny_mp4

FINAL = ("delivered", "failed", "cancelled", "unknown")
# What the status message's Status field starts with in each final state
# (bot/discord_layer/render.py).
SHOWN = {"delivered": "✅", "failed": "❌", "cancelled": "🚫", "unknown": "❔"}
AIMS = (
    "status-post-lost",  # after the reservation, before the status message exists
    "status-post-answer-lost",  # the status message exists, its id was never stored
    "submit",  # the paid POST is on the wire
    "poll",  # at the provider
    "download",  # the result is being fetched
    "result-post-lost",  # the result post never reached Discord
    "result-post-answer-lost",  # posted, but the bot never heard so
    "final-edit-delivered",  # DELIVERED, before the file is deleted and the status edit
    "final-edit-failed",  # FAILED, before the status edit
)
COMBOS = [(p, m) for p in ("runcomfy", "wavespeed") for m in ("text", "image")]
ROUNDS = 2  # full sweep: 2 x 9 aims x 4 combos = 72 kills
VIDEO = tiny_mp4(300_000)
FIRST_MEMBER = 7301


@dataclass
class Life:
    number: int
    aim: str
    provider: str
    mode: str

    @property
    def prompt(self) -> str:
        return f"aimed {self.number} {self.aim} {self.provider} {self.mode}"

    @property
    def member(self) -> int:
        return FIRST_MEMBER + self.number


def plan() -> list[Life]:
    if FULL:
        combos = [(a, p, m) for _ in range(ROUNDS) for a in AIMS for p, m in COMBOS]
    else:  # one kill per aim, providers and modes in turn
        combos = [(a, *COMBOS[i % len(COMBOS)]) for i, a in enumerate(AIMS)]
    return [Life(n, a, p, m) for n, (a, p, m) in enumerate(combos)]


def status_field(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for embed in body.get("embeds") or []:
        for fld in embed.get("fields") or []:
            if fld.get("name") == "Status":
                return str(fld.get("value", ""))
    return ""


def mentions_prompt(body: Any, prompt: str) -> bool:
    return isinstance(body, dict) and prompt in json.dumps(body, ensure_ascii=False)


def is_result(body: Any) -> bool:
    return "reelbot:reroll:" in json.dumps(body)


async def arm(w: World, life: Life, sim: ProviderSim) -> Callable[[], bool]:
    """Set the trap for this life's job; return what says the job reached it."""
    prompt = life.prompt
    match life.aim:
        case "status-post-lost" | "status-post-answer-lost":
            hold = w.fake.hold_next(
                "POST",
                rf"^/channels/{CHANNEL}/messages$",
                when=lambda b: mentions_prompt(b, prompt) and not is_result(b),
                after=life.aim == "status-post-answer-lost",
            )
            return lambda: hold.arrived
        case "result-post-lost" | "result-post-answer-lost":
            hold = w.fake.hold_next(
                "POST",
                rf"^/channels/{CHANNEL}/messages$",
                when=lambda b: mentions_prompt(b, prompt) and is_result(b),
                after=life.aim == "result-post-answer-lost",
            )
            return lambda: hold.arrived
        case "final-edit-delivered" | "final-edit-failed":
            if life.aim == "final-edit-failed":
                sim.script(JobScript(queue_seconds=50, run_seconds=50, outcome="failed"))
            mark = SHOWN["delivered" if life.aim == "final-edit-delivered" else "failed"]
            hold = w.fake.hold_next(
                "PATCH",
                rf"^/channels/{CHANNEL}/messages/\d+$",
                when=lambda b: mentions_prompt(b, prompt) and status_field(b).startswith(mark),
            )
            return lambda: hold.arrived
        case "submit":
            before = len(sim.submits())
            sim.fault(Fault(kind="post", http_status=None, delay=60))
            return lambda: len(sim.submits()) > before
        case "download":
            before = sum(1 for r in sim.requests if r.kind == "file")
            sim.fault(Fault(kind="file", http_status=None, delay=60))
            return lambda: sum(1 for r in sim.requests if r.kind == "file") > before
        case "poll":
            sim.script(JobScript(queue_seconds=300, queue_positions=[2, 1], run_seconds=300))
            return lambda: any(
                p == prompt and s in ("submitted", "running")
                for p, s in db_rows(w, "SELECT prompt, state FROM job")
            )
    raise AssertionError(life.aim)


async def send(w: World, life: Life) -> None:
    options = [{"name": "provider", "type": 3, "value": life.provider}]
    if life.mode == "text":
        await w.fake.invoke(
            "video",
            [{"name": "prompt", "type": 3, "value": life.prompt}, *options],
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=life.member,
            timeout=30,
        )
        return
    attachment = w.fake.add_attachment(png(640, 480), filename="in.png", content_type="image/png")
    await w.fake.invoke(
        "animate",
        [
            {"name": "image", "type": 11, "value": attachment["id"]},
            {"name": "prompt", "type": 3, "value": life.prompt},
            *options,
        ],
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=life.member,
        attachments=[attachment],
        timeout=30,
    )


def status_messages(w: World) -> dict[str, FakeMessage]:
    """Every status message Discord holds (whether or not the bot stored its id), by the job
    id in its footer."""
    found: dict[str, FakeMessage] = {}
    for message in w.fake.channel_messages(CHANNEL):
        if message.deleted or not message.embeds or is_result({"x": message.custom_ids()}):
            continue
        footer = str((message.embeds[0].get("footer") or {}).get("text", ""))
        if footer.startswith("job ") and status_field({"embeds": message.embeds}):
            found[footer.removeprefix("job ")] = message
    return found


def shown_state(message: FakeMessage) -> str:
    return status_field({"embeds": message.embeds})


def all_settled(w: World) -> bool:
    rows = db_rows(w, "SELECT id, state, status_message_id FROM job")
    if not all(str(state) in FINAL for _, state, _ in rows):
        return False
    by_id = {m.id: m for m in w.fake.channel_messages(CHANNEL)}
    return all(
        shown_state(by_id[mid]).startswith(SHOWN[str(state)])
        for _, state, mid in rows
        if mid is not None and mid in by_id
    )


async def settle(w: World, *, timeout: float) -> None:
    """Wait until every job is final and shown; the checks say what is wrong if not."""
    with contextlib.suppress(AssertionError):
        await w.fake.wait_for(lambda: all_settled(w), timeout=timeout)


async def test_kills_aimed_at_every_window_leave_every_job_settled_once(tmp_path: Path) -> None:
    lives = plan()
    async with world(tmp_path, max_jobs_per_member=5, quota_limit=100, max_concurrent_jobs=4) as w:
        for life in lives:
            w.fake.guilds[GUILD].add_member(life.member, name=f"m{life.member}")
        for sim in (w.runcomfy, w.wavespeed):
            sim.default_script = JobScript(queue_seconds=50, run_seconds=50, video=VIDEO)
        log = tmp_path / "bot.log"
        missed: list[str] = []
        for life in lives:
            process = await spawn(w, log)
            try:
                await w.fake.wait_until_connected(timeout=30)
                await settle(w, timeout=30)  # what earlier lives left is finished first
                sim = w.runcomfy if life.provider == "runcomfy" else w.wavespeed
                reached = await arm(w, life, sim)
                await send(w, life)
                try:
                    await w.fake.wait_for(reached, timeout=30)
                except AssertionError:
                    missed.append(life.prompt)
                process.send_signal(signal.SIGKILL)
                await process.wait()
            finally:
                await stop(process)
                for hold in w.fake.holds:
                    hold.release()
            await w.fake.wait_for(lambda: not w.fake.connected, timeout=10)

        final = await spawn(w, log)
        try:
            await settle(w, timeout=60)
            await asyncio.sleep(1.0)  # nothing more may arrive
        finally:
            await stop(final)
        check(w, lives)
    assert missed == [], f"aims not reached: {missed}"


def check(w: World, lives: list[Life]) -> None:
    jobs = {
        str(prompt): (str(job_id), str(state), int(str(cost)), int(str(user)), refunded)
        for job_id, prompt, state, cost, user, refunded in db_rows(
            w, "SELECT id, prompt, state, cost, user_id, refunded FROM job"
        )
    }
    posted = results_for(w)
    sent = Counter(
        r.json["prompt"]
        for sim in (w.runcomfy, w.wavespeed)
        for r in sim.submits()
        if isinstance(r.json, dict)
    )
    charged: Counter[int] = Counter()
    for user, amount in db_rows(w, "SELECT user_id, amount FROM quota_ledger"):
        charged[int(str(user))] += int(str(amount))
    statuses = status_messages(w)
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    unknown_unsent = shown = with_status = 0
    for life in lives:
        if life.prompt not in jobs:
            continue  # killed before the reservation: nothing stored, nothing charged
        job_id, state, cost, user, refunded = jobs[life.prompt]
        outcomes[state] += 1
        where = f"{life.prompt} ({state})"
        if state not in FINAL:
            problems.append(f"{where}: not final")
        if posted[job_id] > 1 or sent[life.prompt] > 1:
            problems.append(f"{where}: posted {posted[job_id]}, submitted {sent[life.prompt]}")
        if state == "delivered" and (posted[job_id], sent[life.prompt]) != (1, 1):
            problems.append(f"{where}: posted {posted[job_id]}, submitted {sent[life.prompt]}")
        if state == "unknown" and sent[life.prompt] == 0:
            unknown_unsent += 1
            problems.append(f"{where}: unknown although nothing was submitted")
        expected = cost if state in ("delivered", "unknown") else 0
        if charged[user] != expected or bool(refunded) != (state in ("failed", "cancelled")):
            problems.append(f"{where}: charged {charged[user]}, refunded {refunded}")
        message = statuses.get(job_id)
        if message is not None:
            with_status += 1
            if state in FINAL and shown_state(message).startswith(SHOWN[state]):
                shown += 1
            else:
                problems.append(f"{where}: status shows {shown_state(message)[:40]!r}")
    leftovers = sorted(p.name for p in (w.settings.work_dir / "tmp").iterdir())
    print(  # noqa: T201 - the sweep's figures, shown with -s
        f"aimed kills={len(lives)} jobs={len(jobs)} outcomes={dict(outcomes)} "
        f"leaked files={len(leftovers)} unknown without a submit={unknown_unsent} "
        f"final states shown={shown}/{with_status}"
    )
    if leftovers:
        problems.append(f"files left in WORK_DIR/tmp: {leftovers}")
    # The kills really landed: the aims that must end a certain way did.
    must = {"submit": "unknown", "final-edit-failed": "failed", "poll": "delivered"}
    must |= dict.fromkeys(("download", "result-post-lost", "result-post-answer-lost"), "delivered")
    for life in lives:
        state = jobs.get(life.prompt, ("", "missing"))[1]
        if life.aim in must and state != must[life.aim]:
            problems.append(f"{life.prompt}: ended {state}, expected {must[life.aim]}")
    assert problems == [], "\n".join(problems)
