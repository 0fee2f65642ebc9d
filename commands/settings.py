"""/settings: a member's own defaults for new videos on this server, shown to them alone."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core.i18n import translate
from bot.core.preferences import store
from bot.core.preferences.models import Delivery
from bot.core.preferences.resolve import PreferenceUnsaveable, check_saveable
from bot.core.preferences.store import Values
from bot.discord_layer.actions import rules_channel_id
from bot.discord_layer.errors import BadRequest
from bot.discord_layer.preference_texts import listing, unsaveable_text
from bot.discord_layer.translator import tr
from commands.generate import ASPECTS, DURATIONS, RESOLUTIONS, options

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

DELIVERIES: list[Choice[str]] = [
    Choice(name=tr("choice", "In the channel"), value=Delivery.CHANNEL.value),
    Choice(
        name=tr("choice", "By direct message (the channel if my DMs are closed)"),
        value=Delivery.DM.value,
    ),
]


def provider_choices(bot: VideoBot) -> list[Choice[str]]:
    return [Choice(name=n.label, value=n.value) for n in bot.provider_order]


def build(bot: VideoBot) -> app_commands.Group:
    providers = provider_choices(bot)

    class Settings(app_commands.Group):
        def __init__(self) -> None:
            super().__init__(
                name="settings",
                description=tr("command", "Your default options for new videos on this server"),
                guild_only=True,
            )

        @app_commands.command(
            name="set",
            description=tr("command", "Save defaults used when a command leaves them out"),
        )
        @app_commands.describe(
            **options("provider", "aspect_ratio", "duration", "resolution"),
            delivery=tr("command", "Where your finished videos go"),
        )
        @app_commands.choices(provider=providers, aspect_ratio=ASPECTS, resolution=RESOLUTIONS)
        @app_commands.choices(duration=DURATIONS)
        @app_commands.choices(delivery=DELIVERIES)
        async def set_(
            self,
            interaction: discord.Interaction[VideoBot],
            provider: str | None = None,
            aspect_ratio: str | None = None,
            duration: int | None = None,
            resolution: str | None = None,
            delivery: str | None = None,
        ) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
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
            gid, uid, now = interaction.guild_id or 0, interaction.user.id, time.time()
            current = await bot.db.run(lambda s: store.member(session=s, guild_id=gid, user_id=uid))
            wanted = current.merged(changes)
            try:
                check_saveable(wanted, providers=bot.providers, order=bot.provider_order)
            except PreferenceUnsaveable as refusal:
                raise BadRequest(unsaveable_text(refusal, locale)) from refusal
            saved = await bot.db.run(
                lambda s: store.save_member(
                    session=s, guild_id=gid, user_id=uid, values=wanted, now=now
                )
            )
            await interaction.edit_original_response(
                content=translate(
                    locale,
                    "Saved. New videos you make on this server use:\n{values}\n"
                    "An option you give in a command still comes first.",
                    context="message",
                    values=listing(saved, locale),
                )
            )

        @app_commands.command(
            name="show", description=tr("command", "Show your saved defaults and this channel's")
        )
        async def show(self, interaction: discord.Interaction[VideoBot]) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            locale = interaction.locale.value
            gid, uid = interaction.guild_id or 0, interaction.user.id
            channel_id = rules_channel_id(interaction)
            saved = await bot.db.run(
                lambda s: store.load(session=s, guild_id=gid, user_id=uid, channel_id=channel_id)
            )
            text = translate(
                locale,
                "Your saved defaults on this server:\n{values}",
                context="message",
                values=listing(saved.member, locale),
            )
            if not saved.channel.empty:
                text += "\n" + translate(
                    locale,
                    "This channel's defaults, used where yours are not set:\n{values}",
                    context="message",
                    values=listing(saved.channel, locale),
                )
            await interaction.edit_original_response(content=text)

        @app_commands.command(name="reset", description=tr("command", "Forget your saved defaults"))
        async def reset(self, interaction: discord.Interaction[VideoBot]) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            locale = interaction.locale.value
            gid, uid = interaction.guild_id or 0, interaction.user.id
            forgot = await bot.db.run(
                lambda s: store.reset_member(session=s, guild_id=gid, user_id=uid)
            )
            text = (
                translate(locale, "Your saved defaults are forgotten.", context="message")
                if forgot
                else translate(
                    locale, "You had no saved defaults on this server.", context="message"
                )
            )
            await interaction.edit_original_response(content=text)

    return Settings()


async def setup(bot: VideoBot) -> None:
    bot.tree.add_command(build(bot))
