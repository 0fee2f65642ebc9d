"""Sentinel secrets: the Discord token and both provider keys never leave their Authorization
headers, whatever fails: not in logs, Discord messages, provider bodies, the database or files."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.core.jobs.models import JobState
from bot.core.settings import load_settings
from providers import AuthenticationError, Mode, VideoRequest
from providers.runcomfy import RunComfy
from tests.e2e.harness import (
    ADMIN,
    AUDIT_CHANNEL,
    CHANNEL,
    GUILD,
    MEMBER,
    OTHER_MEMBER,
    png,
)
from tests.fakediscord import FakeInteraction
from tests.providersim import Fault, JobScript, ProviderSim
from tests.security._leaks import LeakScan, database_path, header_problems, pieces, sentinel
from tests.security._world import SecureWorld, secure_world

TOKEN = sentinel("discord")
RUNCOMFY_KEY = sentinel("runcomfy")
WAVESPEED_KEY = sentinel("wavespeed")
SECRETS = {"Discord token": TOKEN, "RunComfy key": RUNCOMFY_KEY, "WaveSpeed key": WAVESPEED_KEY}
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    """One job: what the providers are told to do, and where the job must end."""

    name: str
    provider: str
    ends: JobState
    faults: list[Fault] = field(default_factory=list)
    scripts: list[JobScript] = field(default_factory=list)


def cases() -> list[Case]:
    quick = JobScript(run_seconds=5)
    return [
        Case("delivered", "runcomfy", JobState.DELIVERED, scripts=[quick]),
        Case(
            "runcomfy 401 echoing the key",
            "runcomfy",
            JobState.FAILED,
            faults=[
                Fault.runcomfy(401001, message=f"token Bearer {RUNCOMFY_KEY} is not valid"),
            ],
        ),
        Case(
            "wavespeed 401 echoing the key",
            "wavespeed",
            JobState.FAILED,
            faults=[
                Fault.wavespeed(401, http_status=401, message=f"invalid key: {WAVESPEED_KEY}"),
            ],
        ),
        Case(
            "wavespeed submit 500 echoing the key",
            "wavespeed",
            JobState.UNKNOWN,  # a 500 on submit may have created a paid job
            faults=[
                Fault(
                    kind="post",
                    http_status=500,
                    body={"code": 5000, "message": f"upstream saw {WAVESPEED_KEY}", "data": None},
                )
            ],
        ),
        Case(
            "runcomfy status 500s echoing the key, then done",
            "runcomfy",
            JobState.DELIVERED,
            faults=[
                Fault(
                    kind="status",
                    http_status=500,
                    body={"error_code": 500001, "message": f"oops, {RUNCOMFY_KEY}"},
                    times=2,
                )
            ],
            scripts=[quick],
        ),
        Case(
            "wavespeed result 401 echoing the key",
            "wavespeed",
            JobState.FAILED,
            faults=[
                Fault(
                    kind="result",
                    http_status=401,
                    body={"code": 401, "message": f"{WAVESPEED_KEY} was revoked", "data": None},
                )
            ],
            scripts=[quick],
        ),
        Case(
            "failed job",
            "wavespeed",
            JobState.FAILED,
            scripts=[JobScript(run_seconds=5, outcome="failed", error="GPU on fire")],
        ),
        Case(
            "download 404",
            "runcomfy",
            JobState.FAILED,
            scripts=[JobScript(run_seconds=5, result_status=404)],
        ),
        Case(
            "lost submit",
            "runcomfy",
            JobState.UNKNOWN,
            faults=[Fault(kind="post", drop="after")],
        ),
    ]


async def run_case(w: SecureWorld, case: Case, number: int) -> None:
    sim = w.runcomfy if case.provider == "runcomfy" else w.wavespeed
    sim.fault(*case.faults)
    sim.script(*case.scripts)
    before = {j.id for j in w.jobs()}
    reply = await w.reply(await w.video(f"case {number}: {case.name}", provider=case.provider))
    assert "on its way" in reply, (case.name, reply)
    [job] = [j for j in w.jobs() if j.id not in before]
    job = await w.wait_final(job.id)
    assert job.state is case.ends, (case.name, job.state, job.error)


async def admin_tour(w: SecureWorld) -> None:
    """Admin commands that read and write everything a server has."""
    await w.admin("audit-channel", channel=AUDIT_CHANNEL)
    await w.admin("filter", "add-word", word="forbidden")
    await w.admin("members", "block", member=OTHER_MEMBER, reason="testing the block")
    await w.admin("budget", units=40)
    await w.admin("tiers", "set", role=GUILD, limit=30)


async def member_tour(w: SecureWorld) -> None:
    for name in ("quota", "jobs"):
        interaction = await w.fake.invoke(
            name, [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER
        )
        await w.answer(interaction)
    assert "doesn't allow" in await w.reply(await w.video("a forbidden thing"))
    assert "can't make videos" in await w.reply(await w.video("x", user=OTHER_MEMBER))
    # A value outside the choices (answered, today, through the unexpected-error path).
    crash: FakeInteraction = await w.video_as(
        MEMBER,
        [
            {"name": "prompt", "type": 3, "value": "x"},
            {"name": "provider", "type": 3, "value": "not-a-provider"},
        ],
    )
    await w.answer(crash)


def scan_world(w: SecureWorld, scan: LeakScan, *, log: Path | None = None) -> None:
    scan.fake_discord(w.fake)
    scan.provider(w.runcomfy)
    scan.provider(w.wavespeed)
    scan.sqlite(database_path(w.settings.database_url))
    # Every file the bot left behind: database, WAL, temporary downloads, the process log.
    scan.directory(w.tmp)
    if log is not None:
        assert log.stat().st_size > 10_000


def assert_headers_carry_only_their_own_key(w: SecureWorld) -> None:
    problems = header_problems(
        w.runcomfy,
        own_key=RUNCOMFY_KEY,
        foreign={"Discord token": TOKEN, "WaveSpeed key": WAVESPEED_KEY},
    )
    problems += header_problems(
        w.wavespeed,
        own_key=WAVESPEED_KEY,
        foreign={"Discord token": TOKEN, "RunComfy key": RUNCOMFY_KEY},
    )
    for index, request in enumerate(w.fake.requests):
        for header, value in request.headers.items():
            for name, secret in SECRETS.items():
                if secret in value and header.lower() != "authorization":
                    problems.append(f"Discord request #{index}: {header} carries the {name}")
    assert problems == []


@pytest.mark.sqlite_only("scans the SQLite file's bytes for secrets")
async def test_no_secret_leaks_from_the_bot_in_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with secure_world(
        tmp_path,
        token=TOKEN,
        runcomfy_key=RUNCOMFY_KEY,
        wavespeed_key=WAVESPEED_KEY,
        quota_limit=50,
        max_jobs_per_member=10,
    ) as w:
        await w.start_bot()
        await admin_tour(w)
        for number, case in enumerate(cases()):
            await run_case(w, case, number)
        # /animate re-hosts the image; a cancel reaches the provider.
        assert "on its way" in await w.reply(await w.animate(png(640, 480), provider="wavespeed"))
        w.runcomfy.script(JobScript(queue_seconds=1e6, queue_positions=[3]))
        await w.reply(await w.video("cancel me", provider="runcomfy"))
        waiting = w.jobs()[-1]
        assert waiting.prompt == "cancel me"
        waiting = await w.wait_state(waiting.id, JobState.SUBMITTED)
        [status] = [m for m in w.statuses() if m.id == waiting.status_message_id]
        [cancel] = [c for c in status.custom_ids() if c.startswith("reelbot:cancel:")]
        assert "Cancelled" in await w.reply(await w.fake.click(status, cancel, user_id=MEMBER))
        await member_tour(w)
        for path, options in (
            (("settings",), {}),
            (("unknown",), {}),
            (("audit",), {}),
            (("members", "ledger"), {"member": MEMBER}),
            (("filter", "list"), {}),
        ):
            await w.answer(await w.command(*path, user=ADMIN, **options))
        await w.fake.wait_for(lambda: len(w.results()) >= 3, timeout=15)
        await w.fake.wait_for(
            lambda: len(w.channel_posts(AUDIT_CHANNEL)) >= 15, timeout=15, what="audit posts"
        )
        assert_headers_carry_only_their_own_key(w)
        await w.stop_bot()

        scan = LeakScan(SECRETS)
        scan.log_records(caplog.records)
        scan_world(w, scan)
        assert scan.scanned > 500
        # The provider messages that echoed the keys were logged, redacted.
        assert sum("[redacted]" in r.getMessage() for r in caplog.records) >= 4
        assert not scan.findings, "\n".join(scan.findings)


PROCESS_CASES = (
    "delivered",
    "runcomfy 401 echoing the key",
    "wavespeed submit 500 echoing the key",
    "failed job",
    "download 404",
)


def process_env(w: SecureWorld) -> dict[str, str]:
    """The environment of a real deployment pointed at the fakes, secrets included (as in
    tests/e2e/test_restart.py), logging at DEBUG."""
    s = w.settings
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "RUNCOMFY_", "WAVESPEED_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN=TOKEN,
        DISCORD_GUILD_IDS=str(GUILD),
        DISCORD_API_BASE_URL=w.fake.api_base,
        DISCORD_GATEWAY_URL=w.fake.gateway_url,
        RUNCOMFY_API_KEY=RUNCOMFY_KEY,
        WAVESPEED_API_KEY=WAVESPEED_KEY,
        RUNCOMFY_BASE_URL=s.runcomfy_base_url,
        WAVESPEED_BASE_URL=s.wavespeed_base_url,
        ALLOW_LOOPBACK_URLS="true",
        DATABASE_URL=s.database_url,
        WORK_DIR=str(s.work_dir),
        POLL_FIRST_DELAY="0.05",
        POLL_WARMUP="0",
        POLL_INTERVAL="0.05",
        POLL_MAX_INTERVAL="0.2",
        STATUS_EDIT_INTERVAL="0.2",
        LEASE_SECONDS="3",
        QUOTA_LIMIT="50",
        MAX_JOBS_PER_MEMBER="10",
        LOG_LEVEL="DEBUG",
    )
    return env


async def spawn(w: SecureWorld, log: Path) -> asyncio.subprocess.Process:
    env = process_env(w)
    with log.open("ab") as handle:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=w.tmp,
            stdout=handle,
            stderr=handle,
        )


@pytest.mark.sqlite_only("scans the SQLite file's bytes for secrets")
async def test_no_secret_leaks_from_the_bot_as_a_process(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    async with secure_world(
        tmp_path, token=TOKEN, runcomfy_key=RUNCOMFY_KEY, wavespeed_key=WAVESPEED_KEY
    ) as w:
        process = await spawn(w, log)
        try:
            await w.fake.wait_until_connected(timeout=30)
            for number, case in enumerate(cases()):
                if case.name in PROCESS_CASES:
                    await run_process_case(w, case, number)
            await w.fake.wait_for(lambda: len(w.results()) >= 1, timeout=15)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), timeout=15) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        text = log.read_text()
        assert "stopped cleanly" in text and " DEBUG " in text
        assert_headers_carry_only_their_own_key(w)
        scan = LeakScan(SECRETS)
        scan_world(w, scan, log=log)
        assert not scan.findings, "\n".join(scan.findings)


async def run_process_case(w: SecureWorld, case: Case, number: int) -> None:
    """`run_case` for a bot in another process: the database is read with sqlite3."""
    sim = w.runcomfy if case.provider == "runcomfy" else w.wavespeed
    sim.fault(*case.faults)
    sim.script(*case.scripts)
    path = database_path(w.settings.database_url)

    def states() -> list[str]:
        if not path.exists():
            return []
        with sqlite3.connect(path) as db:
            rows = [r[0] for r in db.execute("SELECT state FROM job ORDER BY created_at")]
        db.close()
        return rows

    before = len(states())
    interaction = await w.fake.invoke(
        "video",
        [
            {"name": "prompt", "type": 3, "value": f"case {number}: {case.name}"},
            {"name": "provider", "type": 3, "value": case.provider},
        ],
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=MEMBER,
        timeout=30,
    )
    assert "on its way" in await w.reply(interaction, timeout=20)
    await w.fake.wait_for(
        lambda: len(states()) > before and states()[before] == case.ends.value,
        timeout=20,
        what=f"{case.name} to end {case.ends.value}",
    )


async def test_a_key_cut_by_the_message_limit_is_still_redacted() -> None:
    async with ProviderSim("runcomfy", api_key=RUNCOMFY_KEY) as sim, httpx.AsyncClient() as http:
        message = "x" * 251 + " " + f"your key {RUNCOMFY_KEY} is wrong"
        sim.fault(Fault.runcomfy(401001, message=message))
        client = RunComfy(
            client=http,
            api_key=SecretStr(RUNCOMFY_KEY),
            base_url=sim.base_url,
            allow_loopback_urls=True,
        )
        with pytest.raises(AuthenticationError) as caught:
            await client.submit(VideoRequest(mode=Mode.TEXT, prompt="a lighthouse"))
        error = caught.value
        shown = " ".join((str(error), error.admin_message, error.detail, repr(error.args)))
        assert [p for p in pieces(RUNCOMFY_KEY) if p in shown] == []


@pytest.mark.sqlite_only("scans the SQLite file's bytes for secrets")
async def test_a_failure_reason_echoing_the_key_is_redacted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with secure_world(
        tmp_path, token=TOKEN, runcomfy_key=RUNCOMFY_KEY, wavespeed_key=WAVESPEED_KEY
    ) as w:
        await w.start_bot()
        w.wavespeed.script(
            JobScript(run_seconds=5, outcome="failed", error=f"auth {WAVESPEED_KEY} expired")
        )
        w.runcomfy.script(
            JobScript(run_seconds=5, outcome="failed", error={"reason": f"key={RUNCOMFY_KEY}"})
        )
        for provider in ("wavespeed", "runcomfy"):
            await w.reply(await w.video(f"fails at {provider}", provider=provider))
        await w.wait_for_state(JobState.FAILED, count=2)
        await w.stop_bot()
        scan = LeakScan(SECRETS)
        scan.log_records(caplog.records)
        scan_world(w, scan)
        assert not scan.findings, "\n".join(scan.findings)


def test_sentinels_are_not_placeholders() -> None:
    """The sentinels must pass the settings' placeholder check, or the runs above prove
    nothing about real keys."""
    settings = load_settings(
        _env_file=None,
        discord_token=TOKEN,
        runcomfy_api_key=RUNCOMFY_KEY,
        wavespeed_api_key=WAVESPEED_KEY,
    )
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


async def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, bytes]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output


async def test_no_secret_leaks_from_the_terminal_commands(tmp_path: Path) -> None:
    async with (
        ProviderSim("runcomfy", api_key=RUNCOMFY_KEY, time_scale=100.0) as runcomfy,
        ProviderSim("wavespeed", api_key=WAVESPEED_KEY, time_scale=100.0) as wavespeed,
    ):
        runcomfy.fault(Fault.runcomfy(401001, message=f"token {RUNCOMFY_KEY} is not valid"))
        wavespeed.fault(
            Fault(
                kind="result",
                http_status=401,
                body={"code": 401, "message": f"{WAVESPEED_KEY} was revoked", "data": None},
            )
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DISCORD_", "RUNCOMFY_", "WAVESPEED_"))
        }
        env.update(
            PYTHONPATH=str(ROOT),
            DISCORD_TOKEN=TOKEN,
            RUNCOMFY_API_KEY=RUNCOMFY_KEY,
            WAVESPEED_API_KEY=WAVESPEED_KEY,
            RUNCOMFY_BASE_URL=runcomfy.base_url,
            WAVESPEED_BASE_URL=wavespeed.base_url,
            ALLOW_LOOPBACK_URLS="true",
            WORK_DIR=str(tmp_path / "work"),
            DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
            POLL_FIRST_DELAY="0.05",
            POLL_WARMUP="0",
            POLL_INTERVAL="0.05",
            LOG_LEVEL="DEBUG",
        )
        runs = await asyncio.gather(
            run_cli(["check"], env, tmp_path),
            run_cli(
                ["generate", "--provider", "runcomfy", "--prompt", "x", "--out", "a.mp4"],
                env,
                tmp_path,
            ),
            run_cli(
                ["generate", "--provider", "wavespeed", "--prompt", "x", "--out", "b.mp4"],
                env,
                tmp_path,
            ),
            # Start-up refusals name the setting, never its value.
            run_cli(["run"], {**env, "DISCORD_TOKEN": f"<{TOKEN}>"}, tmp_path),
            run_cli(["check"], {**env, "RUNCOMFY_BASE_URL": f"{RUNCOMFY_KEY}"}, tmp_path),
        )
    codes = [code for code, _ in runs]
    assert codes == [0, 3, 3, 2, 2], [(code, out[-300:]) for code, out in runs]
    assert b"[redacted]" in runs[1][1] and b"[redacted]" in runs[2][1]
    assert b"DISCORD_TOKEN" in runs[3][1] and b"RUNCOMFY_BASE_URL" in runs[4][1]
    scan = LeakScan(SECRETS)
    for number, (_, output) in enumerate(runs):
        scan.text(f"terminal command #{number}", output)
    assert not scan.findings, "\n".join(scan.findings)
