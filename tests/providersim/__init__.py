"""A loopback simulator of the RunComfy and WaveSpeedAI video APIs, for tests and benchmarks.

One `ProviderSim` speaks one provider's documented wire protocol on
127.0.0.1. Jobs follow `JobScript`s on a simulated clock (`time_scale` simulated seconds per real
second, `advance()` to jump ahead), and `Fault`s replace, slow down or drop answers::

    async with ProviderSim("runcomfy", api_key="k", time_scale=100) as sim:
        sim.script(JobScript(queue_seconds=30, queue_positions=[3, 2, 1], run_seconds=120))
        sim.fault(Fault("status", http_status=429, headers={"Retry-After": "2"}))
        ...  # point the client at sim.base_url
        job = next(iter(sim.jobs.values()))
        lag = job.first_seen_terminal_at - job.completed_at
        peak = peak_in_flight([*sim.jobs.values()])  # most jobs at the provider at once

`sim.generation = GenerationTimes(...)` draws each unscripted job's times from seeded log-normal
distributions per configuration (mode, duration, resolution).

Result files are served without authentication at `sim.file_url(name)`
(`/files/{job_id}.mp4` for a job). Everything the server receives is in `sim.requests`.

WaveSpeed jobs submitted with `?webhook=URL` are called back there when they end, signed with
`sim.webhook_secret` (served at `GET /api/v3/webhook/secret`); `sim.webhooks` lists the
callbacks and `sim.drop_webhooks(n)` loses the next n.
"""

from ._callbacks import Delivery, signed_headers
from ._model import Phase, RecordedRequest, RequestKind, SimJob, peak_in_flight
from ._runcomfy import ASPECT_RATIOS as RUNCOMFY_ASPECT_RATIOS
from ._runcomfy import IMAGE_MAX_BYTES as RUNCOMFY_IMAGE_MAX_BYTES
from ._runcomfy import IMAGE_TO_VIDEO as RUNCOMFY_IMAGE_TO_VIDEO
from ._runcomfy import IMAGE_TOO_LARGE as RUNCOMFY_IMAGE_TOO_LARGE
from ._runcomfy import TEXT_TO_VIDEO as RUNCOMFY_TEXT_TO_VIDEO
from ._script import DropMode, Fault, FaultKind, JobScript, Outcome, tiny_mp4
from ._server import CHUNK_SIZE, ProviderSim
from ._timing import ConfigKey, GenerationTimes, config_of
from ._wavespeed import ASPECT_RATIOS as WAVESPEED_ASPECT_RATIOS
from ._wavespeed import IMAGE_TO_VIDEO as WAVESPEED_IMAGE_TO_VIDEO
from ._wavespeed import TEXT_TO_VIDEO as WAVESPEED_TEXT_TO_VIDEO

__all__ = [
    "CHUNK_SIZE",
    "RUNCOMFY_ASPECT_RATIOS",
    "RUNCOMFY_IMAGE_MAX_BYTES",
    "RUNCOMFY_IMAGE_TOO_LARGE",
    "RUNCOMFY_IMAGE_TO_VIDEO",
    "RUNCOMFY_TEXT_TO_VIDEO",
    "WAVESPEED_ASPECT_RATIOS",
    "WAVESPEED_IMAGE_TO_VIDEO",
    "WAVESPEED_TEXT_TO_VIDEO",
    "ConfigKey",
    "Delivery",
    "DropMode",
    "Fault",
    "FaultKind",
    "GenerationTimes",
    "JobScript",
    "Outcome",
    "Phase",
    "ProviderSim",
    "RecordedRequest",
    "RequestKind",
    "SimJob",
    "config_of",
    "peak_in_flight",
    "signed_headers",
    "tiny_mp4",
]
