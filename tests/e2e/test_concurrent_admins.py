"""Two admins editing the same list setting at the same moment both keep their change."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import Session

from bot.core.guild.models import GuildConfig
from tests.e2e.harness import (
    CHANNEL,
    GUILD,
    NSFW_CHANNEL,
    OTHER_CHANNEL,
    OTHER_ROLE,
    REVIEW_CHANNEL,
    ROLE,
    World,
    world,
)


def config(w: World) -> GuildConfig:
    assert w.bot is not None
    with Session(w.bot.db.engine) as session:
        found = session.get(GuildConfig, GUILD)
        assert found is not None
        return found


async def test_concurrent_list_edits_are_not_lost(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        replies = await asyncio.gather(
            w.admin("channels", "allow", channel=CHANNEL),
            w.admin("channels", "allow", channel=OTHER_CHANNEL),
            w.admin("roles", "allow", role=ROLE),
            w.admin("roles", "allow", role=OTHER_ROLE),
            w.admin("providers", "disable", provider="runcomfy"),
            w.admin("providers", "disable", provider="wavespeed"),
            w.admin("review", "approval", enabled=True, channel=CHANNEL),
            w.admin("review", "approval", enabled=True, channel=NSFW_CHANNEL),
        )
        saved = config(w)
        assert saved.allowed_channel_ids == sorted([CHANNEL, OTHER_CHANNEL])
        assert saved.allowed_role_ids == sorted([ROLE, OTHER_ROLE])
        assert sorted(saved.disabled_providers) == ["runcomfy", "wavespeed"]
        assert saved.approval_channel_ids == sorted([CHANNEL, NSFW_CHANNEL])
        # whoever came second is shown both channels
        assert any(f"<#{CHANNEL}>, <#{OTHER_CHANNEL}>" in r for r in replies[:2]), replies
        settings = await w.admin("settings")
        assert f"<#{CHANNEL}>, <#{OTHER_CHANNEL}>" in settings
