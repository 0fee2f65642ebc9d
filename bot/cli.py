"""Terminal commands: `reelbot check` and `reelbot generate`.

Exit codes of `generate`: 0 done; 2 bad input or configuration; 3 the provider refused or the
job failed; 4 outcome unknown (the job may exist and may be charged); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
from pathlib import Path

import httpx
from pydantic import ValidationError
from rich.console import Console

from bot.core.settings import Settings
from providers import (
    Cancelled,
    Downloader,
    Failed,
    JobUpdate,
    Mode,
    Provider,
    ProviderError,
    ProviderName,
    Queued,
    Running,
    StillRunning,
    SubmitOutcomeUnknown,
    Succeeded,
    UnsafeURL,
    UnsupportedOption,
    VideoRequest,
    build_providers,
    new_download_client,
    wait_for_job,
)
from providers.connections import ProviderClient

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_PROVIDER_FAILED = 3
EXIT_UNKNOWN = 4
EXIT_INTERRUPTED = 130


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", required=True, choices=[p.value for p in ProviderName])
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--image-url", help="animate this image (image-to-video)")
    parser.add_argument("--aspect-ratio", help="16:9, 4:3, 1:1, 3:4, 9:16, 21:9 or 9:21")
    parser.add_argument("--duration", type=int, choices=[5, 10])
    parser.add_argument("--resolution", choices=["720P", "1080P"])
    parser.add_argument("--seed", type=int, default=-1)
    parser.add_argument("--out", required=True, type=Path, help="where to write the video")


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The one client for provider APIs."""
    return ProviderClient(
        timeout=httpx.Timeout(settings.http_timeout_seconds, connect=10.0),
        follow_redirects=False,
    )


def check(settings: Settings, console: Console) -> int:
    """Validate the configuration and list the providers that are ready. No paid call."""
    configs = settings.provider_configs()
    for name in ProviderName:
        if name in configs:
            console.print(f"ready    {name.label} ({configs[name].base_url})")
        else:
            console.print(f"absent   {name.label}: set {name.value.upper()}_API_KEY")
    if settings.discord_token is None:
        console.print("absent   Discord: set DISCORD_TOKEN to run the bot")
    else:
        console.print("ready    Discord token is set")
    if not configs:
        console.print("No provider is configured: set RUNCOMFY_API_KEY or WAVESPEED_API_KEY.")
        return EXIT_BAD_INPUT
    return EXIT_OK


async def generate(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    name = ProviderName(args.provider)
    try:
        request = VideoRequest(
            mode=Mode.IMAGE if args.image_url else Mode.TEXT,
            prompt=args.prompt,
            aspect_ratio=args.aspect_ratio,
            duration=args.duration,
            resolution=args.resolution,
            seed=args.seed,
            image_url=args.image_url,
        )
    except ValidationError as error:
        console.print(f"error: {_first_problem(error)}")
        return EXIT_BAD_INPUT
    configs = settings.provider_configs()
    if name not in configs:
        console.print(f"error: {name.label} is not configured: set {name.value.upper()}_API_KEY")
        return EXIT_BAD_INPUT
    if not args.out.parent.is_dir():
        console.print(f"error: the folder {args.out.parent} does not exist")
        return EXIT_BAD_INPUT

    async with http_client(settings) as client, new_download_client() as download_client:
        provider = build_providers(
            {name: configs[name]},
            client=client,
            allow_loopback_urls=settings.allow_loopback_urls,
            retry=settings.retry_policy(),
        )[name]
        downloader = Downloader(
            client=download_client,
            max_bytes=settings.download_max_bytes,
            directory=args.out.parent,
            allow_loopback_urls=settings.allow_loopback_urls,
        )
        return await _run(provider, request, downloader, settings, args.out, console)


async def _run(
    provider: Provider,
    request: VideoRequest,
    downloader: Downloader,
    settings: Settings,
    out: Path,
    console: Console,
) -> int:
    try:
        options = provider.resolve(request)
    except (UnsupportedOption, UnsafeURL) as error:
        console.print(f"error: {error.admin_message}")
        return EXIT_BAD_INPUT
    console.print(
        f"{provider.label}: {request.mode.value}-to-video, {options.duration} s, "
        f"{options.resolution}, aspect {options.aspect_ratio or 'from image'}, seed {request.seed}"
    )
    started = time.monotonic()
    try:
        job_id = await provider.submit(request)
    except SubmitOutcomeUnknown as error:
        console.print(
            f"unknown: {error.admin_message}. Check the provider's dashboard before retrying."
        )
        return EXIT_UNKNOWN
    except ProviderError as error:
        console.print(f"error: {error.admin_message}")
        return EXIT_PROVIDER_FAILED
    console.print(f"submitted: job {job_id}")

    progress = _Progress(console, started)
    try:
        with progress:
            outcome = await wait_for_job(
                provider,
                job_id,
                cadence=settings.cadence(),
                deadline=settings.job_deadline_seconds,
                on_update=progress.update,
            )
    except ProviderError as error:
        console.print(f"error: job {job_id}: {error.admin_message}")
        return EXIT_PROVIDER_FAILED

    match outcome:
        case Succeeded():
            pass
        case Failed(reason=reason):
            console.print(f"failed: job {job_id}: {reason}")
            return EXIT_PROVIDER_FAILED
        case Cancelled():
            console.print(f"failed: job {job_id} was cancelled at the provider")
            return EXIT_PROVIDER_FAILED
        case StillRunning(elapsed=elapsed):
            console.print(
                f"unknown: job {job_id} still unfinished after {elapsed:.0f} s; "
                "it may still finish and be charged"
            )
            return EXIT_UNKNOWN

    try:
        downloaded = await downloader.fetch(outcome.video_url, provider=provider.label)
    except ProviderError as error:
        console.print(f"error: job {job_id}: {error.admin_message}")
        return EXIT_PROVIDER_FAILED
    try:
        await asyncio.to_thread(shutil.move, downloaded.path, out)
    except OSError as error:
        await asyncio.to_thread(downloaded.path.unlink, missing_ok=True)
        console.print(f"error: could not write {out}: {error.strerror}")
        return EXIT_BAD_INPUT
    note = " (flagged NSFW by the provider)" if outcome.nsfw else ""
    console.print(f"done in {time.monotonic() - started:.1f} s{note}")
    # The one line on stdout: what was written, for scripts.
    print(f"{out} {downloaded.size}")  # noqa: T201 - the command's output
    return EXIT_OK


class _Progress:
    """Live progress on stderr: a spinner on a terminal, one line per change otherwise."""

    def __init__(self, console: Console, started: float) -> None:
        self._console = console
        self._started = started
        self._text = "submitted"
        self._status = console.status(self._text) if console.is_terminal else None
        self._ticker: asyncio.Task[None] | None = None

    def __enter__(self) -> _Progress:
        if self._status is not None:
            self._status.start()
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._status is not None:
            self._status.stop()

    async def _tick(self) -> None:
        while self._status is not None:
            self._status.update(f"{self._text} · {time.monotonic() - self._started:.0f} s")
            await asyncio.sleep(0.5)

    async def update(self, update: JobUpdate) -> None:
        match update:
            case Queued(position=None):
                self._text = "queued at the provider"
            case Queued(position=position):
                self._text = f"queued at the provider, position {position}"
            case Running():
                self._text = "running"
            case Succeeded():
                self._text = "finished, downloading"
            case Failed():
                self._text = "failed"
            case Cancelled():
                self._text = "cancelled"
        if self._status is None:
            elapsed = time.monotonic() - self._started
            self._console.print(f"{self._text} · {elapsed:.0f} s")


def _first_problem(error: ValidationError) -> str:
    item = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(p) for p in item["loc"]).replace("_", "-")
    message = str(item["msg"]).removeprefix("Value error, ")
    return f"--{where}: {message}" if where else message
