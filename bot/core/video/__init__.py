"""The video toolkit (Discord-free): probe a file, take its last frame, join clips, re-encode a
result to fit an upload limit. PyAV (FFmpeg) does the video work, off the event loop."""

from bot.core.video.errors import (
    VideoError,
    VideoFailed,
    VideoStopped,
    VideoTimeout,
    VideoUnreadable,
)
from bot.core.video.fit import FitResult, fit_to_limit
from bot.core.video.join import join_clips
from bot.core.video.last_frame import last_frame_png
from bot.core.video.probe import VideoInfo, probe
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
    "fit_to_limit",
    "join_clips",
    "last_frame_png",
    "probe",
]
