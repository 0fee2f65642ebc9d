"""Coalescing status editors: one supervised task per busy channel keeps each job's newest
status and edits the messages one at a time, so status updates never sit on a job's path.

Why: Discord gives message creates and edits one bucket per channel (5 per 5 s,
topics/rate-limits) and discord.py queues each bucket's requests. Awaiting every edit made
jobs wait in that queue before their paid submit and on every poll update. Here a job only
records its state; the channel's editor spends the bucket on what changed: final states
first (oldest first), then the oldest change, each message at most once per `edit_interval`,
and it steps aside while a result is being posted in the channel, so posts wait behind at
most one edit. Knows nothing of Discord: the presenter hands in the function that edits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

from bot.core.jobs.models import Job

log = logging.getLogger(__name__)

FINAL_ATTEMPTS = 3
RETRY_PAUSE = 2.0
REMEMBERED_FINISHED = 4096


class EditOutcome(Enum):
    SHOWN = "shown"
    GONE = "gone"  # the message was deleted: nothing left to show it on
    REFUSED = "refused"  # definitively (permissions, validation)
    TRANSIENT = "transient"  # may work later (5xx, network)


Send = Callable[[Job, int | None], Awaitable[EditOutcome]]
Signature = Callable[[Job, int | None], object]


@dataclass(eq=False)
class _Entry:
    job: Job
    waiting_position: int | None
    changed_at: float
    not_before: float = 0.0
    attempts: int = 0
    waiters: list[asyncio.Future[bool]] = field(default_factory=list)
    final: bool = False
    """`job.state.is_final`, set with `job`: the editor reads it for every entry each time it
    looks for the next edit, and the ORM attribute costs several times a plain one."""


@dataclass(eq=False)
class _Channel:
    entries: dict[str, _Entry] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    posting: int = 0
    task: asyncio.Task[None] | None = None


class StatusEditors:
    def __init__(
        self,
        send: Send,
        *,
        signature: Signature,
        edit_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._signature = signature
        self.edit_interval = edit_interval
        self._clock = clock
        self._channels: dict[int, _Channel] = {}
        self._last_sent: dict[str, float] = {}
        self._shown: dict[str, object] = {}
        self._finished: OrderedDict[str, object] = OrderedDict()  # job id -> what it shows
        self._closing = False
        self.edits_sent = 0

    # --- what jobs call -------------------------------------------------------------------

    def record(self, job: Job, waiting_position: int | None) -> None:
        """Note a non-final state; it is shown when the channel's budget allows."""
        if self._closing or job.id in self._finished:
            return
        channel = self._channel(job.channel_id)
        entry = channel.entries.get(job.id)
        if entry is not None and entry.final:
            return  # a final state already waits; an older update must not replace it
        self._put(channel, job, waiting_position, entry)

    async def finish(self, job: Job, waiting_position: int | None = None) -> bool:
        """Queue a final state ahead of the rest and wait until the message shows it.
        True if it does (or the message is gone), False if Discord refused it."""
        if self._closing:
            return False
        if job.id in self._finished and self._finished[job.id] == self._signature(
            job, waiting_position
        ):
            return True  # shown already
        channel = self._channel(job.channel_id)
        entry = self._put(channel, job, waiting_position, channel.entries.get(job.id))
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        entry.waiters.append(waiter)
        return await waiter

    @contextlib.asynccontextmanager
    async def posting(self, channel_id: int) -> AsyncIterator[None]:
        """While a result is posted in the channel, its editor sends nothing new."""
        channel = self._channel(channel_id)
        channel.posting += 1
        try:
            yield
        finally:
            channel.posting -= 1
            channel.wake.set()

    async def close(self, drain_timeout: float = 2.0) -> None:
        """Send the final states still waiting (for up to `drain_timeout`), drop the rest,
        stop every editor. Anyone still waiting is told False."""
        self._closing = True
        for channel in self._channels.values():
            for job_id in [j for j, e in channel.entries.items() if not e.final]:
                del channel.entries[job_id]
            channel.wake.set()
        tasks = [c.task for c in self._channels.values() if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=drain_timeout)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in self._channels.values():
            for entry in channel.entries.values():
                _resolve(entry, shown=False)
        self._channels.clear()

    # --- bookkeeping ----------------------------------------------------------------------

    def _channel(self, channel_id: int) -> _Channel:
        channel = self._channels.get(channel_id)
        if channel is None:
            channel = self._channels[channel_id] = _Channel()
        if channel.task is None:
            task = asyncio.get_running_loop().create_task(
                self._run(channel_id, channel), name=f"status-editor-{channel_id}"
            )
            channel.task = task
            task.add_done_callback(lambda t: self._editor_done(channel_id, channel, t))
        return channel

    def _put(
        self, channel: _Channel, job: Job, waiting_position: int | None, entry: _Entry | None
    ) -> _Entry:
        now = self._clock()
        final = job.state.is_final
        if entry is None:
            entry = channel.entries[job.id] = _Entry(
                job, waiting_position, changed_at=now, final=final
            )
        else:  # coalesce: keep the newest state, the time of the oldest unshown change
            entry.job, entry.waiting_position, entry.final = job, waiting_position, final
        channel.wake.set()
        return entry

    def _editor_done(self, channel_id: int, channel: _Channel, task: asyncio.Task[None]) -> None:
        channel.task = None
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("status editor of channel %s died", channel_id, exc_info=error)
        if channel.entries and not self._closing:
            self._channel(channel_id)  # work is left: a fresh editor takes it on
        elif self._channels.get(channel_id) is channel and not channel.entries:
            del self._channels[channel_id]

    def _next(self, channel: _Channel, now: float) -> tuple[_Entry | None, float | None]:
        """The entry to send now (finals first, then the oldest change), or when to look
        again."""
        best: _Entry | None = None
        soonest: float | None = None
        for job_id, entry in channel.entries.items():
            due = entry.not_before
            if not entry.final:
                due = max(due, self._last_sent.get(job_id, 0.0) + self.edit_interval)
            if due > now:
                soonest = due if soonest is None else min(soonest, due)
                continue
            if best is None or (not best.final, best.changed_at) > (
                not entry.final,
                entry.changed_at,
            ):
                best = entry
        return best, soonest

    # --- the editor -----------------------------------------------------------------------

    async def _run(self, channel_id: int, channel: _Channel) -> None:
        while channel.entries:
            channel.wake.clear()
            if channel.posting:
                await channel.wake.wait()
                continue
            entry, soonest = self._next(channel, self._clock())
            if entry is None:
                delay = None if soonest is None else max(0.0, soonest - self._clock())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await channel.wake.wait()
                continue
            del channel.entries[entry.job.id]
            await self._show(channel, entry)

    async def _show(self, channel: _Channel, entry: _Entry) -> None:
        job = entry.job
        signature = self._signature(job, entry.waiting_position)
        if self._shown.get(job.id) == signature:
            outcome = EditOutcome.SHOWN  # the message already says this
        else:
            try:
                outcome = await self._send(job, entry.waiting_position)
            except Exception:  # one bad edit must not stop the channel's editor
                log.exception("job %s: status edit failed", job.id)
                outcome = EditOutcome.REFUSED
            self.edits_sent += 1
            self._last_sent[job.id] = self._clock()
        if outcome is EditOutcome.SHOWN:
            self._shown[job.id] = signature
        if outcome is EditOutcome.TRANSIENT and entry.final:
            entry.attempts += 1
            if entry.attempts < FINAL_ATTEMPTS and job.id not in channel.entries:
                entry.not_before = self._clock() + RETRY_PAUSE * entry.attempts
                channel.entries[job.id] = entry
                return
        newer = channel.entries.get(job.id)
        if entry.final or outcome is EditOutcome.GONE:
            if newer is not None and entry.waiters:
                newer.waiters += entry.waiters  # a newer final state came meanwhile
                return
            if newer is None:
                self._forget(job.id, signature if outcome is EditOutcome.SHOWN else None)
        _resolve(entry, shown=outcome in (EditOutcome.SHOWN, EditOutcome.GONE))

    def _forget(self, job_id: str, shown: object) -> None:
        self._last_sent.pop(job_id, None)
        self._shown.pop(job_id, None)
        self._finished[job_id] = shown
        while len(self._finished) > REMEMBERED_FINISHED:
            self._finished.popitem(last=False)


def _resolve(entry: _Entry, *, shown: bool) -> None:
    for waiter in entry.waiters:
        if not waiter.done():
            waiter.set_result(shown)
    entry.waiters.clear()
