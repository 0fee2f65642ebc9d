"""`AcksFirst`: a command's work waits while other commands that arrived are unanswered, until
they are or `MOST_WAIT` passes; a command alone never waits; a stale one is not waited for."""

from __future__ import annotations

import asyncio

import pytest

from bot.discord_layer import acks as acks_module
from bot.discord_layer.acks import AcksFirst


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_command_alone_goes_on_at_once() -> None:
    acks = AcksFirst()
    acks.arrived(1)
    waiting = asyncio.ensure_future(acks.after_the_others(1))
    await _turns(1)
    assert waiting.done() and acks.unanswered == 0


async def test_work_waits_until_every_other_arrived_command_is_answered() -> None:
    acks = AcksFirst()
    for interaction in (1, 2, 3):
        acks.arrived(interaction)
    first = asyncio.ensure_future(acks.after_the_others(1))
    await _turns()
    assert not first.done()  # 2 and 3 are still to be acknowledged
    acks.answered(2)  # say, it failed its checks
    await _turns()
    assert not first.done()
    last = asyncio.ensure_future(acks.after_the_others(3))
    await _turns()
    assert last.done()  # the last to arrive: nothing came after it
    async with asyncio.timeout(2 * acks_module.QUIET + 1):
        await first  # once nothing has arrived for QUIET seconds
    assert acks.unanswered == 0


async def test_a_command_that_never_answers_holds_the_others_at_most_most_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(acks_module, "MOST_WAIT", 0.2)
    acks = AcksFirst()
    acks.arrived(1)
    acks.arrived(2)  # never answered
    loop = asyncio.get_running_loop()
    started = loop.time()
    await acks.after_the_others(1)
    assert 0.19 <= loop.time() - started < 2.0
    assert acks.unanswered == 1


async def test_a_stale_command_is_not_waited_for() -> None:
    now = [100.0]
    acks = AcksFirst(clock=lambda: now[0])
    acks.arrived(2)  # its task ended without a word
    now[0] += acks_module.STALE_AFTER + 1
    acks.arrived(1)
    waiting = asyncio.ensure_future(acks.after_the_others(1))
    await _turns(1)
    assert waiting.done() and acks.unanswered == 0
