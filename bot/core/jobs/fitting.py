"""Results that fit: a downloaded result larger than the job's upload limit is re-encoded to fit
(same length and aspect, a lower bit rate or a smaller picture) by the video toolkit, off the
event loop, one at a time per process, under the toolkit's time limit. When even that cannot
fit, or the re-encode fails or times out, the caller posts the link alone, as before.

The re-encoded copy is named after the job (`reelbot-{job_id}-fit-...`), like the download, so
the temporary-file sweep removes one a killed process left behind."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.core.jobs.models import Job
from bot.core.video import VideoError, VideoTools
from providers import Downloaded

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FittedVideo(Downloaded):
    """A re-encoded copy of the result that fits the upload limit. The presenter posts it
    with a note and a link to the full-quality file."""

    original_size: int


class ResultFitter:
    def __init__(self, *, tools: VideoTools) -> None:
        self.tools = tools

    async def fit(self, job: Job, video: Downloaded) -> Downloaded | None:
        """`video` itself when it fits; else a `FittedVideo` that does, or None (post the
        link). The original download is removed once it is replaced."""
        limit = job.upload_limit
        if video.size <= limit:
            return video
        try:
            result = await self.tools.fit(
                video.path, limit_bytes=limit, prefix=f"reelbot-{job.id}-fit-"
            )
        except (VideoError, OSError) as error:  # unreadable, failed, timed out, disk full
            log.warning("job %s: the result could not be re-encoded to fit: %s", job.id, error)
            result = None
        if result is None or not result.reencoded:
            log.info(
                "job %s: %d bytes cannot fit in %d; posting the link", job.id, video.size, limit
            )
            await asyncio.to_thread(video.path.unlink, missing_ok=True)
            return None
        log.info(
            "job %s: re-encoded %d bytes to %d (%dx%d, limit %d)",
            job.id,
            video.size,
            result.size_bytes,
            result.width,
            result.height,
            limit,
        )
        await asyncio.to_thread(video.path.unlink, missing_ok=True)
        return FittedVideo(
            path=result.path,
            size=result.size_bytes,
            content_type="video/mp4",
            original_size=video.size,
        )
