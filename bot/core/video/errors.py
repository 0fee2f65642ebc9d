"""The video toolkit's errors. `message` says in plain words what went wrong, for a log line or
for the member's note ("the result could not be shortened; here is the link")."""

from __future__ import annotations


class VideoError(Exception):
    """Base of the toolkit's errors; `message` is safe to show."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class VideoUnreadable(VideoError):
    """The input is not a video (or image stream) FFmpeg can decode, or it has no video track."""


class VideoFailed(VideoError):
    """Decoding or encoding failed part-way (FFmpeg reported an error)."""


class VideoTimeout(VideoError):
    """The work took longer than its time limit and was stopped."""


class VideoStopped(VideoError):
    """The work was asked to stop (timeout or shutdown) and did, between two frames."""
