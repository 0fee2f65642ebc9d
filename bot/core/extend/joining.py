"""Posting a chain's joined video once its newest clip is delivered: the earlier part (the
parent's joined video, or the parent's clip for the second clip of a chain) and the new clip,
joined off the event loop (`VideoTools.join`, bounded), fitted to the channel's upload limit,
and posted. Runs while the job is still DELIVERING, so a restart anywhere in it drives the job
here again: the join already posted is found (like a result) and recorded, else it is made and
posted then. `join_state` says whether it is owed, posted or given up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Protocol

from bot.core.db import Database
from bot.core.extend.chain import JOIN_FAILED, JOIN_OWED, JOIN_POSTED
from bot.core.jobs import store
from bot.core.jobs.contracts import DeliveryFailed
from bot.core.jobs.models import Job
from bot.core.jobs.moves import JobMoves, LeaseLost
from bot.core.video import VideoError, VideoTools
from providers import ProviderError

log = logging.getLogger(__name__)


class ChainPoster(Protocol):
    """What joining needs from the chat side."""

    async def fetch_clip(self, job: Job, message_id: int, *, prefix: str) -> Path | None:
        """The video posted on `message_id` for `job`, downloaded to a new temporary file
        named with `prefix` that the caller deletes (the job's result link when the message
        carries no file); None when neither can be had."""
        ...

    async def find_join(self, job: Job) -> int | None:
        """After a restart: the id of `job`'s joined video if it was posted after all."""
        ...

    async def post_join(
        self, job: Job, path: Path, *, seconds: float, clips: int, hide: bool
    ) -> int:
        """Post the joined video; return its message id. Raises DeliveryFailed."""
        ...


class ChainJoiner:
    """The driver's step after a clip is posted (`run`); a no-op for jobs that are not
    extensions."""

    def __init__(
        self, *, db: Database, tools: VideoTools, poster: ChainPoster, directory: Path
    ) -> None:
        self.db = db
        self.tools = tools
        self.poster = poster
        self.directory = directory

    async def run(self, job: Job, *, message_id: int, moves: JobMoves) -> None:
        if job.join_state != JOIN_OWED:
            return
        # Known from now on, whatever happens to the join.
        await moves.set_fields(job.id, result_message_id=message_id)
        job.result_message_id = message_id
        try:
            found = await self.poster.find_join(job)
            if found is not None:
                log.info("job %s: the joined video was already posted (message %s)", job.id, found)
                await moves.set_fields(job.id, join_state=JOIN_POSTED, join_message_id=found)
                return
            await self._join_and_post(job, moves)
        except (LeaseLost, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("job %s: the joined video could not be made", job.id)
            await moves.set_fields(job.id, join_state=JOIN_FAILED)

    async def _join_and_post(self, job: Job, moves: JobMoves) -> None:
        parent_id = job.parent_job_id
        parent = None
        if parent_id is not None:
            parent = await self.db.run(lambda s: store.get(session=s, job_id=parent_id))
        earlier_message = None
        if parent is not None:
            earlier_message = (
                parent.join_message_id
                if parent.join_state == JOIN_POSTED and parent.join_message_id is not None
                else parent.result_message_id
            )
        if parent is None or earlier_message is None:
            await self._give_up(job, moves, "the earlier clip is unknown")
            return
        assert job.result_message_id is not None  # noqa: S101 - set by `run`
        paths: list[Path] = []
        try:
            # Named after the job being driven: the upkeep sweep leaves them alone meanwhile,
            # and removes them if this process dies.
            earlier = await self._fetch(parent, earlier_message, prefix=job.id)
            if earlier is None:
                await self._give_up(job, moves, "the earlier clip is gone")
                return
            paths.append(earlier)
            clip = await self._fetch(job, job.result_message_id, prefix=job.id)
            if clip is None:
                await self._give_up(job, moves, "the new clip is gone")
                return
            paths.append(clip)
            joined = self.directory / f"reelbot-{job.id}-joined.mp4"
            paths.append(joined)
            try:
                info = await self.tools.join([earlier, clip], joined)
                posted = joined
                if info.size_bytes > job.upload_limit:
                    fitted = await self.tools.fit(joined, limit_bytes=job.upload_limit)
                    if fitted is None:
                        await self._give_up(job, moves, "it cannot fit the upload limit")
                        return
                    posted = fitted.path
                    paths.append(posted)
            except VideoError as error:
                await self._give_up(job, moves, str(error))
                return
            if not await moves.still_holds(job.id):
                raise LeaseLost(job.id)
            try:
                message_id = await self.poster.post_join(
                    job,
                    posted,
                    seconds=info.duration,
                    clips=job.chain_length or 2,
                    # A flagged clip anywhere in it: behind a spoiler, as the clip was.
                    hide=(job.nsfw or parent.nsfw) and not job.channel_nsfw,
                )
            except DeliveryFailed as error:
                await self._give_up(job, moves, error.reason)
                return
            log.info(
                "job %s: joined video posted (message %s, %.1f s)",
                job.id,
                message_id,
                info.duration,
            )
            await moves.set_fields(
                job.id,
                join_state=JOIN_POSTED,
                join_message_id=message_id,
                chain_seconds=info.duration,
            )
        finally:
            for path in paths:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(path.unlink, missing_ok=True)

    async def _fetch(self, job: Job, message_id: int, *, prefix: str) -> Path | None:
        try:
            return await self.poster.fetch_clip(job, message_id, prefix=prefix)
        except ProviderError as error:
            log.warning("job %s: a clip could not be fetched: %s", job.id, error.admin_message)
            return None

    @staticmethod
    async def _give_up(job: Job, moves: JobMoves, why: str) -> None:
        log.warning("job %s: no joined video: %s", job.id, why)
        await moves.set_fields(job.id, join_state=JOIN_FAILED)
