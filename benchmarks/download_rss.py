"""Memory while downloading a large result: stream a 200 MiB video from the loopback simulator
through `providers.download.Downloader` and watch the process's resident set size.

The measurement runs in a fresh child process (`python -m benchmarks.download_rss --child`), so
memory freed by earlier benchmarks cannot hide growth. The simulator serves the file from the same
child process, so the figure includes the simulator's own buffers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from benchmarks._report import Section
from providers import Downloader, new_download_client
from tests.providersim import ProviderSim

NAME = "download_rss"
TITLE = "Memory while downloading a 200 MiB result"

MiB = 1024 * 1024
SIZE = 200 * MiB
WARMUP_SIZE = 4 * MiB
SAMPLE_EVERY = 0.005  # seconds
TARGET_GROWTH_MIB = 30.0
CHILD_TIMEOUT = 120.0  # real seconds
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Measurement:
    size: int
    seconds: float
    baseline_rss: int
    peak_rss: int
    samples: int
    maxrss_before_kib: int
    maxrss_after_kib: int


class RssSampler:
    """Samples this process's RSS every few milliseconds in a background thread."""

    def __init__(self, every: float) -> None:
        self._every = every
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self.peak = self.rss()
        self.samples = 0

    def rss(self) -> int:
        return int(self._process.memory_info().rss)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            self.peak = max(self.peak, self.rss())
            self.samples += 1

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.peak = max(self.peak, self.rss())


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


async def measure(directory: Path) -> Measurement:
    async with ProviderSim("runcomfy", api_key="bench-download-key") as sim:
        small = sim.put_file("warmup.mp4", size=WARMUP_SIZE)
        big = sim.put_file("big.mp4", size=SIZE)
        async with new_download_client() as client:
            downloader = Downloader(
                client=client,
                max_bytes=SIZE + 16 * MiB,
                directory=directory,
                allow_loopback_urls=True,
            )
            # Warm-up: imports, the connection, the to_thread worker pool.
            warm = await downloader.fetch(small, provider="bench")
            warm.path.unlink()
            gc.collect()
            maxrss_before = _maxrss_kib()
            with RssSampler(SAMPLE_EVERY) as sampler:
                baseline = sampler.peak
                started = time.perf_counter()
                result = await downloader.fetch(big, provider="bench")
                seconds = time.perf_counter() - started
            maxrss_after = _maxrss_kib()
            try:
                if result.size != SIZE or result.path.stat().st_size != SIZE:
                    raise RuntimeError(f"downloaded {result.size} bytes, expected {SIZE}")
            finally:
                result.path.unlink()
    return Measurement(
        size=SIZE,
        seconds=seconds,
        baseline_rss=baseline,
        peak_rss=sampler.peak,
        samples=sampler.samples,
        maxrss_before_kib=maxrss_before,
        maxrss_after_kib=maxrss_after,
    )


def child_main() -> None:
    with tempfile.TemporaryDirectory(prefix="reelbot-bench-") as directory:
        measurement = asyncio.run(measure(Path(directory)))
    print(json.dumps(asdict(measurement)), flush=True)


async def run(quick: bool) -> Section:
    # Same size in quick mode: the download takes a few seconds.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.download_rss",
        "--child",
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(CHILD_TIMEOUT):
            out, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"the measuring child process exited with {process.returncode}")
    m = Measurement(**json.loads(out.decode().strip().splitlines()[-1]))

    growth = (m.peak_rss - m.baseline_rss) / MiB
    throughput = m.size / MiB / m.seconds
    maxrss_growth = (m.maxrss_after_kib - m.maxrss_before_kib) / 1024
    print(
        f"  {m.size / MiB:.0f} MiB in {m.seconds:.2f} s ({throughput:.0f} MiB/s); RSS baseline "
        f"{m.baseline_rss / MiB:.1f} MiB, peak {m.peak_rss / MiB:.1f} MiB, growth {growth:.1f} MiB "
        f"({m.samples} samples); ru_maxrss growth {maxrss_growth:.1f} MiB",
        flush=True,
    )
    section = Section()
    section.add(
        "Peak RSS growth during the download",
        f"{growth:.1f} MiB",
        f"< {TARGET_GROWTH_MIB:g} MiB",
        growth < TARGET_GROWTH_MIB,
    )
    section.add("Throughput", f"{throughput:.0f} MiB/s ({m.seconds:.2f} s)")
    section.add("RSS baseline → peak", f"{m.baseline_rss / MiB:.1f} → {m.peak_rss / MiB:.1f} MiB")
    section.add("ru_maxrss growth (cross-check)", f"{maxrss_growth:.1f} MiB")
    section.note(
        f"A {m.size / MiB:.0f} MiB generated MP4 served by ProviderSim on 127.0.0.1 "
        "(`put_file(size=...)`, streamed in 64 KiB chunks), fetched by `Downloader` "
        "(`new_download_client()`, allow_loopback_urls, a temporary directory) and deleted after."
    )
    section.note(
        f"RSS sampled with psutil every {SAMPLE_EVERY * 1000:g} ms in a background thread "
        f"({m.samples} samples); growth = peak minus the RSS just before the fetch, after a "
        f"{WARMUP_SIZE // MiB} MiB warm-up download and gc.collect()."
    )
    section.note(
        "Measured in a fresh child process; the simulator runs in that same process, so the "
        "figure includes the simulator's own buffers as well as the client's."
    )
    section.note(
        "ru_maxrss is the process's lifetime peak; its growth is shown as a cross-check "
        "(0 would mean the download never exceeded the earlier peak)."
    )
    return section


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="internal: the measuring child process")
    parser.add_argument("--child", action="store_true", required=True)
    parser.parse_args()
    child_main()
