"""A flag the event loop sets and the worker thread checks between frames, so a timed-out or
shut-down encode stops within a frame instead of running on unseen."""

from __future__ import annotations

import threading

from bot.core.video.errors import VideoStopped


class StopFlag:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._reason = "stopped"

    def set(self, reason: str) -> None:
        self._reason = reason
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise `VideoStopped` once the flag is set; called between frames."""
        if self._event.is_set():
            raise VideoStopped(self._reason)
