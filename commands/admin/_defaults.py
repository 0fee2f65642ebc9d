"""/channel-defaults: the options a channel's new videos use where neither the command nor the
member's own /settings chose one. For members with Manage Server, checked on every call like
/reelbot. A command of its own: /reelbot is at Discord's 8000-character limit for one command
(names, descriptions, choices and their translations together)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.core.i18n import translate
from bot.core.preferences import store
from bot.core.preferences.resolve import PreferenceUnsaveable, check_saveable
from bot.core.preferences.store import NONE, Values
from bot.discord_layer.errors import BadRequest
from bot.discord_layer.preference_texts import listing, unsaveable_text
from bot.discord_layer.translator import tr
from commands.admin._access import RuleChannel
from commands.admin._base import MANAGERS, PROVIDERS, AdminGroup
from commands.generate import ASPECTS, DURATIONS, RESOLUTIONS, options
from commands.settings import DELIVERIES

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot


class ChannelDefaults(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(
            bot,
            name="channel-defaults",
            description=tr(
                "command", "Default options for new videos in a channel (Manage Server)"
            ),
            default_permissions=MANAGERS,
            guild_only=True,
        )

    @app_commands.command(
        name="set", description=tr("command", "Set a channel's defaults (members' own come first)")
    )
    @app_commands.describe(
        channel=tr("command", "The channel (its threads and forum posts follow it)"),
        **options("provider", "aspect_ratio", "duration", "resolution"),
        delivery=tr("command", "Where finished videos go"),
    )
    @app_commands.choices(provider=PROVIDERS, aspect_ratio=ASPECTS, resolution=RESOLUTIONS)
    @app_commands.choices(duration=DURATIONS)
    @app_commands.choices(delivery=DELIVERIES)
    async def defaults_set(
        self,
        interaction: discord.Interaction[VideoBot],
        channel: RuleChannel,
        provider: str | None = None,
        aspect_ratio: str | None = None,
        duration: int | None = None,
        resolution: str | None = None,
        delivery: str | None = None,
    ) -> None:
        locale = interaction.locale.value
        changes = Values(
            provider=provider,
            aspect_ratio=aspect_ratio,
            duration=duration,
            resolution=resolution,
            delivery=delivery,
        )
        if changes.empty:
            raise BadRequest(
                translate(locale, "Choose at least one option to save.", context="message")
            )
        gid, cid = interaction.guild_id or 0, channel.id
        current = await self.bot.db.run(
            lambda s: store.channel(session=s, guild_id=gid, channel_id=cid)
        )
        wanted = current.merged(changes)
        try:
            check_saveable(wanted, providers=self.bot.providers, order=self.bot.provider_order)
        except PreferenceUnsaveable as refusal:
            raise BadRequest(unsaveable_text(refusal, locale)) from refusal
        saved = await self._save(interaction, cid, wanted)
        await self._done(
            interaction,
            translate(
                locale,
                "New videos in {channel} now use, where neither the command nor the member "
                "chose:\n{values}",
                context="message",
                channel=f"<#{cid}>",
                values=listing(saved, locale),
            ),
        )

    @app_commands.command(name="show", description=tr("command", "Show a channel's defaults"))
    @app_commands.describe(channel=tr("command", "The channel"))
    async def defaults_show(
        self, interaction: discord.Interaction[VideoBot], channel: RuleChannel
    ) -> None:
        gid, cid = interaction.guild_id or 0, channel.id
        values = await self.bot.db.run(
            lambda s: store.channel(session=s, guild_id=gid, channel_id=cid)
        )
        locale = interaction.locale.value
        await self._done(
            interaction,
            translate(
                locale,
                "Defaults for {channel}:\n{values}",
                context="message",
                channel=f"<#{cid}>",
                values=listing(values, locale),
            ),
        )

    @app_commands.command(name="clear", description=tr("command", "Remove a channel's defaults"))
    @app_commands.describe(channel=tr("command", "The channel"))
    async def defaults_clear(
        self, interaction: discord.Interaction[VideoBot], channel: RuleChannel
    ) -> None:
        await self._save(interaction, channel.id, NONE)
        await self._done(
            interaction,
            translate(
                interaction.locale.value,
                "{channel} has no defaults now.",
                context="message",
                channel=f"<#{channel.id}>",
            ),
        )

    async def _save(
        self, interaction: discord.Interaction[VideoBot], channel_id: int, values: Values
    ) -> Values:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        return await self.bot.db.run(
            lambda s: store.save_channel(
                session=s,
                guild_id=gid,
                channel_id=channel_id,
                values=values,
                actor_id=actor,
                now=now,
            )
        )
