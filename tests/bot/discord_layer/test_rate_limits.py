"""`patiently`: a post that meets 429s past discord.py's own retries is sent again when
Discord says, for a bounded time; any other refusal is raised at once."""

from __future__ import annotations

from types import SimpleNamespace

import discord
import pytest

from bot.discord_layer.rate_limits import DEFAULT_WAIT_SECONDS, patiently, retry_after


def _refusal(status: int, headers: dict[str, str] | None = None) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="refused", headers=headers or {})
    return discord.HTTPException(response, {"message": "refused", "code": 0})


class Sender:
    def __init__(self, *errors: discord.HTTPException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


async def test_sent_again_until_discord_lets_it_through() -> None:
    send = Sender(*[_refusal(429, {"Retry-After": "0"})] * 3)
    assert await patiently(send, what="a post") == "sent"
    assert send.calls == 4


async def test_other_refusals_are_raised_at_once() -> None:
    send = Sender(_refusal(403), _refusal(429))
    with pytest.raises(discord.HTTPException) as raised:
        await patiently(send, what="a post")
    assert raised.value.status == 403
    assert send.calls == 1


async def test_past_its_patience_the_429_is_raised() -> None:
    """A wait that would end past the patience is not started: the 429 goes up at once."""
    send = Sender(*[_refusal(429, {"Retry-After": "4"})] * 10)
    with pytest.raises(discord.HTTPException) as raised:
        await patiently(send, what="a post", patience=3.0)
    assert raised.value.status == 429
    assert send.calls == 1


def test_the_wait_is_discords_retry_after_within_bounds() -> None:
    assert retry_after(_refusal(429, {"Retry-After": "2"})) == 2.0
    assert retry_after(_refusal(429, {"Retry-After": "3600"})) == 10.0
    assert retry_after(_refusal(429, {"Retry-After": "soon"})) == DEFAULT_WAIT_SECONDS
    assert retry_after(_refusal(429)) == DEFAULT_WAIT_SECONDS
