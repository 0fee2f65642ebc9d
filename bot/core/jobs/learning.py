"""The learned poller's two hooks into a job's wait: its cadence, built from the history of
jobs like it, and, once it finished, its times added to that history.

See `providers.learned_polling` for the schedule and `bot.core.jobs.timings` for the table."""

from __future__ import annotations

import logging

from bot.core.db import Database
from bot.core.jobs import timings
from bot.core.jobs.models import Job, JobState
from providers import PollCadence, Succeeded
from providers.learned_polling import LearnedCadence, LearnedSchedule
from providers.polling import Cadence

log = logging.getLogger(__name__)


def timing_key(job: Job) -> timings.TimingKey:
    return timings.TimingKey(
        provider=job.provider, mode=job.mode, duration=job.duration, resolution=job.resolution
    )


# A wait that starts later than this after the submission was resumed after a restart: what
# happened before it was not watched, so its times are not learned from.
FRESH_WAIT_SECONDS = 10.0


async def cadence_for(
    *,
    db: Database,
    job: Job,
    fallback: PollCadence,
    schedule: LearnedSchedule | None,
    elapsed: float,
) -> Cadence:
    """The cadence to wait for `job` with, `elapsed` seconds after its submission: learned
    from its configuration's history, which is read once when the wait starts (so every process
    sees what the others recorded)."""
    if schedule is None:
        return fallback
    key = timing_key(job)
    history = await db.run(lambda s: timings.run_times(session=s, key=key, limit=schedule.history))
    running_since = None
    if job.state is JobState.RUNNING and job.started_at is not None:
        # Resumed after a restart: it was running by then (a late estimate is the safe one).
        running_since = max(0.0, job.started_at - (job.submitted_at or job.created_at))
    cadence = LearnedCadence(
        fallback=fallback, schedule=schedule, run_times=history, running_since=running_since
    )
    cadence.watched = job.state is JobState.SUBMITTED and elapsed < FRESH_WAIT_SECONDS
    return cadence


async def record_finished(
    *, db: Database, job: Job, cadence: Cadence, outcome: Succeeded, now: float
) -> None:
    """Add a succeeded job's times to its configuration's history. Never raises: a lost sample
    costs the schedule nothing but a little knowledge."""
    if not isinstance(cadence, LearnedCadence) or not cadence.watched:
        return
    if job.submitted_at is None:
        return
    submitted = job.submitted_at
    run_seconds = cadence.run_sample(now - submitted)
    if run_seconds is None:
        return
    seen_running = cadence.seen_running_at
    timing = timings.JobTiming(
        job_id=job.id,
        provider=job.provider,
        mode=job.mode,
        duration=job.duration,
        resolution=job.resolution,
        submitted_at=submitted,
        running_at=None if seen_running is None else submitted + seen_running,
        completed_at=now,
        inference_seconds=outcome.inference_seconds,
        run_seconds=run_seconds,
        queue_seconds=cadence.queue_sample(),
    )
    keep = cadence.schedule.history
    try:
        await db.run(lambda s: timings.record(session=s, timing=timing, keep=keep))
    except Exception:
        log.exception("job %s: could not record its timings at %s", job.id, job.provider)
