"""A realistic server's lists (a dozen tiers, about a hundred channels, hundreds of filter
rules) fit where Discord shows them: embed field 1024, description 4096, total 6000,
message content 2000 (Discord docs resources/message, "Embed Limits"), bounded with
"… and N more"."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.core.guild import store as guild_store
from bot.core.guild.models import FilterRuleRow, GuildConfig, QuotaTier, Window
from tests.e2e.harness import ADMIN, CHANNEL, GUILD, OTHER_CHANNEL, World, world

FIRST_ID = 1_290_000_000_000_000_000  # real snowflakes are 19 digits long
CHANNELS = [FIRST_ID + i for i in range(100)]
ROLES = [FIRST_ID + 1000 + i for i in range(12)]
MORE = re.compile(r"… and (\d+) more")


def embed_size(embed: dict[str, Any]) -> int:
    return (
        len(embed.get("title") or "")
        + len(embed.get("description") or "")
        + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])
        + len((embed.get("footer") or {}).get("text", ""))
    )


def a_busy_server(w: World) -> None:
    """100 allowed channels (not the one members use), 12 tiers, approval in 100 channels
    and 200 long filter rules, written straight to the database."""
    assert w.bot is not None
    now = time.time()
    with Session(w.bot.db.engine) as session:
        config = guild_store.config(session=session, guild_id=GUILD)
        config.allowed_channel_ids = [*CHANNELS, OTHER_CHANNEL]
        config.allowed_role_ids = ROLES
        config.approval_channel_ids = CHANNELS
        config.review_channel_id = OTHER_CHANNEL
        session.add(config)
        for i, role in enumerate(ROLES):
            session.add(
                QuotaTier(
                    guild_id=GUILD,
                    role_id=role,
                    limit=100 + i,
                    window=Window.DAILY,
                    max_duration=10,
                    max_resolution="1080P",
                    providers=["runcomfy", "wavespeed"],
                )
            )
        for i in range(200):
            session.add(
                FilterRuleRow(
                    guild_id=GUILD,
                    kind="word",
                    pattern=f"rule{i:03d}" + "x" * 190,
                    added_by=1,
                    added_at=now,
                )
            )
        session.commit()


async def test_settings_of_a_busy_server_fit_in_one_embed(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        a_busy_server(w)
        interaction = await w.fake.invoke(
            "reelbot",
            [],
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=ADMIN,
            subcommand=["settings"],
        )
        await w.fake.wait_for(
            lambda: interaction.original is not None and bool(interaction.original.embeds),
            timeout=10,
        )
        assert interaction.original is not None
        [embed] = interaction.original.embeds
        assert embed_size(embed) <= 6000
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert all(len(v) <= 1024 for v in fields.values())
        where = fields["Where"]
        shown = where.count("<#")
        assert shown > 10
        assert f"… and {len(CHANNELS) + 1 - shown} more" in where
        tiers = fields["Tiers"]
        found = MORE.search(tiers)
        assert tiers.count("<@&") + (int(found.group(1)) if found else 0) == len(ROLES)
        assert "… and" in fields["Moderation"]


async def test_a_refusal_naming_many_channels_fits_in_a_message(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        a_busy_server(w)
        reply = await w.reply(await w.video("a lighthouse at dusk", channel=CHANNEL))
        assert reply.startswith("Videos can't be made in this channel. Use <#")
        assert len(reply) <= 2000
        found = MORE.search(reply)
        assert found is not None
        assert reply.count("<#") + int(found.group(1)) == len(CHANNELS) + 1
        assert w.jobs() == []


async def test_long_admin_listings_are_bounded(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        a_busy_server(w)
        rules = await w.admin("filter", "list")
        assert len(rules) <= 2000
        found = MORE.search(rules)
        assert found is not None
        assert rules.count("\n#") + 1 + int(found.group(1)) == 200
        # every shown rule is whole
        assert all(line.endswith("`") for line in rules.splitlines()[:-1])
        allowed = await w.admin("channels", "allow", channel=CHANNEL)
        assert len(allowed) <= 2000
        found = MORE.search(allowed)
        assert found is not None and allowed.count("<#") + int(found.group(1)) == 102
        with Session(w.bot.db.engine) as session:  # type: ignore[union-attr]
            saved = session.get(GuildConfig, GUILD)
            assert saved is not None and len(saved.allowed_channel_ids) == 102
