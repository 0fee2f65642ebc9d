"""The bot as a real process: killed mid-job, or stopped with SIGTERM, then started again on the
same database. Every job must be delivered exactly once and charged once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests import testdb
from tests.e2e.harness import BOT_TOKEN, CHANNEL, GUILD, MEMBER, World, world
from tests.e2e.processes import bot_env
from tests.providersim import JobScript

ROOT = Path(__file__).resolve().parents[2]


async def spawn(w: World, log: Path) -> asyncio.subprocess.Process:
    handle = log.open("ab")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=bot_env(w, LEASE_SECONDS="2", DISCORD_GUILD_IDS=str(GUILD)),
            cwd=w.tmp,
            stdout=handle,
            stderr=handle,
        )
    finally:
        handle.close()
    return process


def states(w: World) -> list[tuple[str, str | None]]:
    found = testdb.rows(w.settings.database_url, "SELECT state, provider_job_id FROM job")
    return [(str(state), None if job_id is None else str(job_id)) for state, job_id in found]


def ledger(w: World) -> list[tuple[str, int]]:
    found = testdb.rows(
        w.settings.database_url, "SELECT kind, amount FROM quota_ledger ORDER BY id"
    )
    return [(str(kind), int(str(amount))) for kind, amount in found]


@pytest.fixture
async def proc_world(tmp_path: Path) -> AsyncIterator[World]:
    async with world(tmp_path) as w:
        yield w


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await process.wait()


async def test_killed_mid_poll_a_new_process_delivers_exactly_once(proc_world: World) -> None:
    w = proc_world
    log = w.tmp / "bot.log"
    w.runcomfy.script(JobScript(queue_seconds=100, queue_positions=[3, 2, 1], run_seconds=200))
    first = await spawn(w, log)
    try:
        await w.fake.wait_until_connected(timeout=30)
        interaction = await w.fake.invoke(
            "video",
            [
                {"name": "prompt", "type": 3, "value": "survive a crash"},
                {"name": "provider", "type": 3, "value": "runcomfy"},
            ],
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=MEMBER,
            timeout=30,
        )
        assert "on its way" in await w.reply(interaction)
        await w.fake.wait_for(
            lambda: len([r for r in w.runcomfy.requests if r.method == "GET"]) >= 3
        )
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert states(w)[0][0] in ("submitted", "running")
    finally:
        await stop(first)

    second = await spawn(w, log)
    try:
        await w.fake.wait_for(lambda: len(w.results()) == 1, timeout=30)
        await w.fake.wait_for(lambda: states(w)[0][0] == "delivered", timeout=10)
        await asyncio.sleep(1.0)  # nothing more may arrive
        assert len(w.results()) == 1
        assert len(w.runcomfy.submits()) == 1
        assert ledger(w) == [("reserve", 1), ("commit", 0)]
        assert [p.name for p in (w.settings.work_dir / "tmp").iterdir()] == []
    finally:
        await stop(second)
    text = log.read_text()
    assert "resuming after a restart" in text
    assert BOT_TOKEN not in text and "e2e-provider-key" not in text
    # At INFO the log says what the bot did, not one line per status check it made.
    assert "HTTP Request" not in text


async def test_sigterm_saves_state_and_the_next_process_takes_over_at_once(
    proc_world: World,
) -> None:
    w = proc_world
    log = w.tmp / "bot.log"
    w.wavespeed.script(JobScript(queue_seconds=50, run_seconds=200))
    first = await spawn(w, log)
    try:
        await w.fake.wait_until_connected(timeout=30)
        interaction = await w.fake.invoke(
            "video",
            [
                {"name": "prompt", "type": 3, "value": "graceful"},
                {"name": "provider", "type": 3, "value": "wavespeed"},
            ],
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=MEMBER,
            timeout=30,
        )
        assert "on its way" in await w.reply(interaction)
        await w.fake.wait_for(lambda: states(w)[0][1] is not None)
        first.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(first.wait(), timeout=15)
        assert code == 0
    finally:
        await stop(first)
    assert "stopped cleanly" in log.read_text()
    [(expires,)] = testdb.rows(w.settings.database_url, "SELECT lease_expires_at FROM job")
    assert expires == 0.0

    second = await spawn(w, log)
    try:
        await w.fake.wait_for(lambda: len(w.results()) == 1, timeout=30)
        assert len(w.wavespeed.submits()) == 1
        await w.fake.wait_for(lambda: states(w)[0][0] == "delivered", timeout=10)
        assert ledger(w) == [("reserve", 1), ("commit", 0)]
    finally:
        await stop(second)


async def test_without_a_token_the_run_command_explains_how_to_create_a_bot(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    env.update(PYTHONPATH=str(ROOT), RUNCOMFY_API_KEY="rc-live-123")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    text = err.decode()
    assert "DISCORD_TOKEN is not set" in text
    assert "applications.commands" in text and "permissions=117760" in text
    assert "No privileged intent is needed" in text
