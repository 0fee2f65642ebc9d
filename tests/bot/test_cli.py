"""`reelbot generate` and `reelbot check` as a member of the public would run them: a real
process, configured through the environment, talking to the loopback simulator."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.providersim import Fault, JobScript, ProviderSim, tiny_mp4

KEY = "cli-sim-key-93b1"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


async def reelbot(*args: str, env: dict[str, str], cwd: Path) -> Run:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


@pytest.fixture
async def sims() -> AsyncIterator[dict[str, ProviderSim]]:
    async with (
        ProviderSim("runcomfy", api_key=KEY, time_scale=50.0) as rc,
        ProviderSim("wavespeed", api_key=KEY, time_scale=50.0) as ws,
    ):
        yield {"runcomfy": rc, "wavespeed": ws}


def environment(sims: dict[str, ProviderSim]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(
        RUNCOMFY_API_KEY=KEY,
        WAVESPEED_API_KEY=KEY,
        RUNCOMFY_BASE_URL=sims["runcomfy"].base_url,
        WAVESPEED_BASE_URL=sims["wavespeed"].base_url,
        ALLOW_LOOPBACK_URLS="true",
        POLL_FIRST_DELAY="0.05",
        POLL_WARMUP="0",
        POLL_INTERVAL="0.05",
        POLL_QUEUE_SECONDS_PER_POSITION="0.02",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


@pytest.mark.parametrize("provider", ["runcomfy", "wavespeed"])
@pytest.mark.parametrize("image", [False, True])
async def test_generate_writes_the_video(
    sims: dict[str, ProviderSim], tmp_path: Path, provider: str, image: bool
) -> None:
    sim = sims[provider]
    video = tiny_mp4(50_000)
    sim.script(JobScript(queue_seconds=10, queue_positions=[2, 1], run_seconds=20, video=video))
    out = tmp_path / "clip.mp4"
    args = ["generate", "--provider", provider, "--prompt", "a lighthouse at dusk"]
    if image:
        # The provider downloads the image at submit, so it must be served somewhere.
        sim.put_file("lighthouse.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
        args += ["--image-url", sim.file_url("lighthouse.png")]
    run = await reelbot(
        *args, "--seed", "5", "--out", str(out), env=environment(sims), cwd=tmp_path
    )

    assert run.code == 0, run.stderr
    assert out.read_bytes() == video
    assert run.stdout.strip() == f"{out} {len(video)}"
    assert "running" in run.stderr
    assert "submitted: job" in run.stderr
    [submit] = sim.submits()
    assert submit.json["seed"] == 5
    assert ("image" in submit.json or "image_urls" in submit.json) is image
    assert KEY not in run.stderr + run.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


async def test_progress_shows_the_queue_position(
    sims: dict[str, ProviderSim], tmp_path: Path
) -> None:
    sims["runcomfy"].script(JobScript(queue_seconds=30, queue_positions=[3, 2, 1], run_seconds=5))
    run = await reelbot(
        "generate",
        "--provider",
        "runcomfy",
        "--prompt",
        "x",
        "--out",
        str(tmp_path / "a.mp4"),
        env=environment(sims),
        cwd=tmp_path,
    )
    assert run.code == 0, run.stderr
    assert "queued at the provider, position" in run.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--provider", "wavespeed", "--prompt", "x", "--duration", "10"], "5-second clips only"),
        (["--provider", "runcomfy", "--prompt", "x", "--aspect-ratio", "9:21"], "9:21"),
        (["--provider", "runcomfy", "--prompt", "   "], "--prompt: the prompt is empty"),
        (["--provider", "runcomfy", "--prompt", "y" * 801], "limit is 800"),
        (["--provider", "runcomfy", "--prompt", "x", "--seed", "-5"], "--seed"),
        (["--provider", "runcomfy", "--prompt", "x", "--image-url", "file:///etc/passwd"], "https"),
    ],
)
async def test_bad_input_exits_2_without_any_call(
    sims: dict[str, ProviderSim], tmp_path: Path, args: list[str], says: str
) -> None:
    run = await reelbot(
        "generate", *args, "--out", str(tmp_path / "a.mp4"), env=environment(sims), cwd=tmp_path
    )
    assert run.code == 2
    assert says in run.stderr
    assert sims["runcomfy"].requests == [] and sims["wavespeed"].requests == []


async def test_provider_failure_exits_3(sims: dict[str, ProviderSim], tmp_path: Path) -> None:
    sims["wavespeed"].script(JobScript(run_seconds=1, outcome="failed", error="bad luck"))
    run = await reelbot(
        "generate",
        "--provider",
        "wavespeed",
        "--prompt",
        "x",
        "--out",
        str(tmp_path / "a.mp4"),
        env=environment(sims),
        cwd=tmp_path,
    )
    assert run.code == 3
    assert "bad luck" in run.stderr
    assert not (tmp_path / "a.mp4").exists()


async def test_lost_submit_answer_exits_4_and_is_not_resent(
    sims: dict[str, ProviderSim], tmp_path: Path
) -> None:
    sims["runcomfy"].fault(Fault(kind="post", drop="after"))
    run = await reelbot(
        "generate",
        "--provider",
        "runcomfy",
        "--prompt",
        "x",
        "--out",
        str(tmp_path / "a.mp4"),
        env=environment(sims),
        cwd=tmp_path,
    )
    assert run.code == 4
    assert "unknown" in run.stderr
    assert len(sims["runcomfy"].submits()) == 1


async def test_check_lists_ready_providers_without_calling_them(
    sims: dict[str, ProviderSim], tmp_path: Path
) -> None:
    env = environment(sims)
    del env["WAVESPEED_API_KEY"]
    run = await reelbot("check", env=env, cwd=tmp_path)
    assert run.code == 0
    assert "ready    RunComfy" in run.stderr
    assert "absent   WaveSpeed: set WAVESPEED_API_KEY" in run.stderr
    assert sims["runcomfy"].requests == []


async def test_check_refuses_a_placeholder_key(
    sims: dict[str, ProviderSim], tmp_path: Path
) -> None:
    env = environment(sims)
    env["RUNCOMFY_API_KEY"] = "<your-runcomfy-key>"
    run = await reelbot("check", env=env, cwd=tmp_path)
    assert run.code == 2
    assert "RUNCOMFY_API_KEY: Value error, looks like a placeholder" in run.stderr
    assert "<your-runcomfy-key>" not in run.stderr


async def test_the_no_token_help_never_breaks_the_invite_link(tmp_path: Path) -> None:
    from bot.app import INVITE_PERMISSIONS

    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "COLUMNS")}
    env.update(RUNCOMFY_API_KEY=KEY, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    run = await reelbot("run", env=env, cwd=tmp_path)  # stderr is a pipe: no terminal width

    assert run.code == 2
    link = (
        "https://discord.com/oauth2/authorize?client_id=YOUR_APPLICATION_ID"
        f"&scope=bot%20applications.commands&permissions={INVITE_PERMISSIONS}"
    )
    assert any(line.strip() == link for line in run.stderr.splitlines()), run.stderr


async def test_generate_progress_is_not_cut_by_request_logs(
    sims: dict[str, ProviderSim], tmp_path: Path
) -> None:
    env = environment(sims) | {"LOG_LEVEL": "INFO"}
    run = await reelbot(
        "generate",
        "--provider",
        "wavespeed",
        "--prompt",
        "x",
        "--out",
        str(tmp_path / "a.mp4"),
        env=env,
        cwd=tmp_path,
    )
    assert run.code == 0, run.stderr
    assert "HTTP Request" not in run.stderr
    assert "submitted: job" in run.stderr
