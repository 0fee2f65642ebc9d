"""Holding a request: the fake answers nothing until the test lets go, then hangs up. By
default the request is never applied (it was lost on the way); with `after` it is applied
first and only its answer is lost. Lets a test kill the bot at an exact point (while its
status edit or result post is in flight) without any hook in the bot itself."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Hold:
    method: str
    path_regex: str
    when: Callable[[Any], bool] | None = None
    remaining: int = 1
    after: bool = False  # apply the request, then hold its answer
    #: the JSON bodies of the requests held so far
    held: list[Any] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self, method: str, path: str, body: Any) -> bool:
        """Whether this hold catches the request (and counts it)."""
        if self.remaining <= 0 or self._released.is_set():
            return False
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if re.search(self.path_regex, path) is None:
            return False
        if self.when is not None and not self.when(body):
            return False
        self.remaining -= 1
        self.held.append(body)
        self._arrived.set()
        return True

    async def block(self) -> None:
        await self._released.wait()

    async def wait_arrived(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            await self._arrived.wait()

    @property
    def arrived(self) -> bool:
        return self._arrived.is_set()

    def release(self) -> None:
        """Let every held request go (each is then dropped unanswered, never applied)."""
        self._released.set()
