"""The bot as real processes in an end-to-end world: `python -m bot run` with the world's
settings in its environment, plus what each process adds (its shards)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness import BOT_TOKEN, World

ROOT = Path(__file__).resolve().parents[2]


def bot_env(w: World, **extra: str) -> dict[str, str]:
    """The environment of a bot process on ``w``; ``extra`` keys are setting names
    (``DISCORD_SHARD_IDS="1"``) and win over the world's."""
    s = w.settings
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "RUNCOMFY_", "WAVESPEED_"))
    }
    assert s.runcomfy_api_key is not None and s.wavespeed_api_key is not None
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN=BOT_TOKEN,
        DISCORD_GUILD_IDS=",".join(map(str, s.discord_guild_ids)),
        DISCORD_API_BASE_URL=w.fake.api_base,
        DISCORD_GATEWAY_URL=w.fake.gateway_url,
        RUNCOMFY_API_KEY=s.runcomfy_api_key.get_secret_value(),
        WAVESPEED_API_KEY=s.wavespeed_api_key.get_secret_value(),
        RUNCOMFY_BASE_URL=s.runcomfy_base_url,
        WAVESPEED_BASE_URL=s.wavespeed_base_url,
        ALLOW_LOOPBACK_URLS="true",
        DATABASE_URL=s.database_url,
        WORK_DIR=str(s.work_dir),
        POLL_FIRST_DELAY=str(s.poll_first_delay),
        POLL_WARMUP=str(s.poll_warmup),
        POLL_INTERVAL=str(s.poll_interval),
        POLL_MAX_INTERVAL=str(s.poll_max_interval),
        STATUS_EDIT_INTERVAL=str(s.status_edit_interval),
        LEASE_SECONDS=str(s.lease_seconds),
        QUOTA_LIMIT=str(s.quota_limit),
        MAX_JOBS_PER_MEMBER=str(s.max_jobs_per_member),
        MAX_CONCURRENT_JOBS=str(s.max_concurrent_jobs),
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a clean stop), then SIGKILL if it does not end within ``timeout``."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
        await self.process.wait()


async def spawn_bot(w: World, log: Path, **extra: str) -> BotProcess:
    """Start ``python -m bot run`` on ``w`` with ``extra`` settings, its output in ``log``."""
    handle = log.open("ab")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=bot_env(w, **extra),
            cwd=w.tmp,
            stdout=handle,
            stderr=handle,
        )
    finally:
        handle.close()
    return BotProcess(process, log)
