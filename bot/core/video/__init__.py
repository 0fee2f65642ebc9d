"""The video toolkit (Discord-free): probe a file, take its last frame, join clips, re-encode a
result to fit an upload limit. PyAV (FFmpeg) does the video work, off the event loop. The
functions that do it live in their modules (`probe.probe`, `last_frame.last_frame_png`,
`join.join_clips`, `fit.fit_to_limit`), so importing the package does not load PyAV."""

from bot.core.video.errors import (
    VideoError,
    VideoFailed,
    VideoStopped,
    VideoTimeout,
    VideoUnreadable,
)
from bot.core.video.results import FitResult, VideoInfo
from bot.core.video.stop import StopFlag
from bot.core.video.tools import VideoTools
from bot.core.video.worker import VideoWorker

__all__ = [
    "FitResult",
    "StopFlag",
    "VideoError",
    "VideoFailed",
    "VideoInfo",
    "VideoStopped",
    "VideoTimeout",
    "VideoTools",
    "VideoUnreadable",
    "VideoWorker",
]
