"""Acknowledgements first: the work a command does after its deferral waits, briefly, while
other commands that arrived before it are still to be acknowledged.

discord.py runs each command in a task of its own, and the bot's commands defer as their first
await. In a burst (a server's members all asking at once), the first commands to be deferred
would go on to reserve quota, store their jobs and post their status messages while the later
ones still wait for their deferral to be sent: their acknowledgements, which Discord wants
within 3 s, then queue behind that work. Here a command's later work first waits until every
command that arrived is acknowledged (or failed), for at most `MOST_WAIT` seconds, so a burst
is acknowledged first and worked on next (`benchmarks/REPORT.md`, `ack_floor`).

A command that arrived over `STALE_AFTER` seconds ago is no longer waited for: its
acknowledgement is past Discord's deadline anyway, and a command that ended without a word
(its task cancelled at shutdown, say) must not hold up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

MOST_WAIT = 1.0  # seconds a command's later work waits for the others' acknowledgements
STALE_AFTER = 3.0  # seconds: Discord's deadline for an acknowledgement
# A burst reaches the bot over some time, and discord.py reads the gateway between commands'
# steps: a moment with every arrived command answered is not the burst's end while others
# still arrive. The work waits until none has arrived for this long.
QUIET = 0.05  # seconds


class AcksFirst:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._unanswered: dict[int, float] = {}  # interaction id -> when it arrived
        self._all_answered = asyncio.Event()
        self._all_answered.set()
        self._last_arrival: tuple[float, int] | None = None  # when, and which

    @property
    def unanswered(self) -> int:
        return len(self._unanswered)

    def arrived(self, interaction_id: int) -> None:
        """A command arrived; it is answered when it defers (`after_the_others`), ends or
        fails (`answered`)."""
        now = self._clock()
        self._unanswered[interaction_id] = now
        self._last_arrival = (now, interaction_id)
        self._all_answered.clear()

    def answered(self, interaction_id: int) -> None:
        self._unanswered.pop(interaction_id, None)
        self._forget_stale()
        if not self._unanswered:
            self._all_answered.set()

    async def after_the_others(self, interaction_id: int) -> None:
        """Called by a command once deferred, before its work: returns when every command that
        arrived is answered and none arrived after this one for `QUIET` seconds, or after
        `MOST_WAIT` seconds. A command alone returns at once."""
        self.answered(interaction_id)
        deadline = self._clock() + MOST_WAIT
        while (left := deadline - self._clock()) > 0:
            if not self._all_answered.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._all_answered.wait()
                continue
            if self._last_arrival is None or self._last_arrival[1] == interaction_id:
                return  # nothing arrived after this command
            quiet_left = self._last_arrival[0] + QUIET - self._clock()
            if quiet_left <= 0:
                return
            await asyncio.sleep(min(quiet_left, left))

    def _forget_stale(self) -> None:
        # Entries are kept in arrival order (a dict keeps insertion order, and each id arrives
        # once), so the stale ones are at the front: stop at the first that is not.
        oldest = self._clock() - STALE_AFTER
        while self._unanswered:
            interaction_id, at = next(iter(self._unanswered.items()))
            if at >= oldest:
                return
            del self._unanswered[interaction_id]


def acks_of(client: object) -> AcksFirst | None:
    """The bot's `AcksFirst`, if `client` is the bot."""
    acks = getattr(client, "acks", None)
    return acks if isinstance(acks, AcksFirst) else None
