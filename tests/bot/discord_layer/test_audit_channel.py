"""The audit-channel forwarder with two processes (two engines) on one PostgreSQL: each entry
is posted once, however their passes overlap."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.audit import AuditAction, audit
from bot.core.db import Database
from bot.core.guild import store as guild_store
from bot.core.lookups import Lookups
from bot.core.quotas import QuotaPolicy
from bot.discord_layer.audit_channel import AuditForwarder
from tests.testdb import database_url, on_postgresql

pytestmark = pytest.mark.skipif(
    not on_postgresql(), reason="several processes share PostgreSQL (REELBOT_TEST_DB=postgresql)"
)

GUILD, AUDIT_CHANNEL = 10, 77
POLICY = QuotaPolicy(limit=5, window_seconds=86_400, max_in_flight=3)


class SlowChannel:
    """Records what each process posted; a post takes a while, as Discord's do under load."""

    def __init__(self, posted: list[str]) -> None:
        self.posted = posted

    async def send(self, content: str, **_: Any) -> None:
        await asyncio.sleep(0.05)
        self.posted.append(content)


class Channels:
    def __init__(self) -> None:
        self.posted: list[str] = []

    def get(self, channel_id: int, *, guild_id: int | None) -> SlowChannel:
        assert channel_id == AUDIT_CHANNEL
        return SlowChannel(self.posted)

    def preferred_locale(self, guild_id: int | None) -> str | None:
        return None


@pytest.fixture
def dbs(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    first = Database.connect(database_url(tmp_path / "store.db"))
    second = Database.connect(first.engine.url.render_as_string(hide_password=False))
    yield first, second
    second.close()
    first.close()


def forwarder(db: Database, channels: Channels) -> AuditForwarder:
    return AuditForwarder(
        db=db,
        lookups=Lookups(db=db, quota=POLICY),
        channels=channels,  # type: ignore[arg-type]
    )


async def test_two_processes_forwarding_at_once_post_each_entry_once(
    dbs: tuple[Database, Database],
) -> None:
    first, second = dbs
    with first.session() as session:
        guild_store.update_config(
            session=session,
            guild_id=GUILD,
            actor_id=1,
            now=1.0,
            note="test",
            audit_channel_id=AUDIT_CHANNEL,
        )
        for number in range(6):
            audit(
                session=session,
                guild_id=GUILD,
                action=AuditAction.REFUSED,
                now=2.0 + number,
                user_id=5,
                reason=f"entry {number}",
            )
        session.commit()
    channels_a, channels_b = Channels(), Channels()
    a, b = forwarder(first, channels_a), forwarder(second, channels_b)

    for _ in range(3):  # passes that overlap, then later ones
        await asyncio.gather(a.forward_once(), b.forward_once())

    posted = channels_a.posted + channels_b.posted
    reasons = [line.rsplit("reason: ", 1)[-1] for line in posted if "reason: entry" in line]
    assert sorted(reasons) == [f"entry {n}" for n in range(6)]  # each once, none lost
    assert len(posted) == 7  # and the settings change, once
