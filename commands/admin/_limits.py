"""/reelbot tiers and providers: how much, and with which provider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core.guild import store as guild_store
from bot.core.guild.models import GuildConfig, QuotaTier, Window
from bot.discord_layer.errors import BadRequest
from bot.discord_layer.translator import tr
from providers import ProviderName

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

from commands.admin._base import PROVIDERS, AdminGroup


class Tiers(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(bot, name="tiers", description=tr("command", "Quota tiers per role"))

    @app_commands.command(
        name="set",
        description=tr("command", "Set a role's quota tier (the member gets their best tier)"),
    )
    @app_commands.choices(
        max_duration=[
            Choice(name=tr("choice", "5 s"), value=5),
            Choice(name=tr("choice", "10 s"), value=10),
        ]
    )
    @app_commands.choices(
        window=[
            Choice(name=tr("choice", "rolling 24 h"), value="rolling"),
            Choice(name=tr("choice", "per UTC day"), value="daily"),
        ],
    )
    @app_commands.choices(
        max_resolution=[Choice(name="720P", value="720P"), Choice(name="1080P", value="1080P")]
    )
    @app_commands.describe(
        role=tr("command", "The role the tier is for"),
        limit=tr("command", "Units per window"),
        window=tr("command", "How usage is counted"),
        max_duration=tr("command", "Longest clip allowed"),
        max_resolution=tr("command", "Best picture quality allowed"),
        providers=tr("command", "Comma-separated: runcomfy, wavespeed (empty = all enabled)"),
    )
    async def tiers_set(
        self,
        interaction: discord.Interaction[VideoBot],
        role: discord.Role,
        limit: app_commands.Range[int, 0, 10_000],
        window: str = "rolling",
        max_duration: int = 10,
        max_resolution: str = "1080P",
        providers: str | None = None,
    ) -> None:
        names = [p.strip().lower() for p in (providers or "").split(",") if p.strip()]
        unknown = [n for n in names if n not in {p.value for p in ProviderName}]
        if unknown:
            raise BadRequest(
                f"Unknown provider(s): {', '.join(unknown)}. Use runcomfy or wavespeed."
            )
        tier = QuotaTier(
            guild_id=interaction.guild_id or 0,
            role_id=role.id,
            limit=limit,
            window=Window(window),
            max_duration=max_duration,
            max_resolution=max_resolution,
            providers=names,
        )
        await self.bot.db.run(lambda s: guild_store.set_tier(session=s, tier=tier))
        await self._update(interaction, f"tier {role.id}: {limit}/{window}")
        await self._done(
            interaction,
            f"{role.mention}: {limit} units per {'UTC day' if window == 'daily' else '24 h'}, "
            f"clips up to {max_duration} s at up to {max_resolution}"
            + (f", providers {', '.join(names)}" if names else "")
            + ". Members get the most generous tier among their roles.",
        )

    @app_commands.command(name="remove", description=tr("command", "Remove a role's quota tier"))
    @app_commands.describe(role=tr("command", "The role whose tier is removed"))
    async def tiers_remove(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        gid = interaction.guild_id or 0
        removed = await self.bot.db.run(
            lambda s: guild_store.remove_tier(session=s, guild_id=gid, role_id=role.id)
        )
        await self._done(
            interaction, f"Removed {role.mention}'s tier." if removed else "That role has no tier."
        )


class Providers(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(
            bot, name="providers", description=tr("command", "Which providers this server uses")
        )

    @app_commands.command(
        name="enable", description=tr("command", "Offer a provider on this server")
    )
    @app_commands.choices(provider=PROVIDERS)
    @app_commands.describe(provider=tr("command", "The provider to offer"))
    async def providers_enable(
        self, interaction: discord.Interaction[VideoBot], provider: str
    ) -> None:
        await self._edit(
            interaction,
            f"enable {provider}",
            lambda c: {"disabled_providers": [p for p in c.disabled_providers if p != provider]},
        )
        note = (
            ""
            if ProviderName(provider) in self.bot.providers
            else " (it has no API key on this bot yet)"
        )
        await self._done(interaction, f"{ProviderName(provider).label} is enabled{note}.")

    @app_commands.command(
        name="disable", description=tr("command", "Stop offering a provider on this server")
    )
    @app_commands.choices(provider=PROVIDERS)
    @app_commands.describe(provider=tr("command", "The provider to stop offering"))
    async def providers_disable(
        self, interaction: discord.Interaction[VideoBot], provider: str
    ) -> None:

        def edit(config: GuildConfig) -> dict[str, Any]:
            changes: dict[str, Any] = {
                "disabled_providers": sorted({*config.disabled_providers, provider})
            }
            if config.default_provider == provider:
                changes["default_provider"] = None
            return changes

        await self._edit(interaction, f"disable {provider}", edit)
        await self._done(interaction, f"{ProviderName(provider).label} is disabled on this server.")

    @app_commands.command(
        name="default", description=tr("command", "The provider used when a member picks none")
    )
    @app_commands.choices(provider=PROVIDERS)
    @app_commands.describe(provider=tr("command", "The provider to use by default"))
    async def providers_default(
        self, interaction: discord.Interaction[VideoBot], provider: str
    ) -> None:

        def edit(config: GuildConfig) -> dict[str, Any]:
            if provider in config.disabled_providers:
                raise BadRequest(
                    f"{ProviderName(provider).label} is disabled here; enable it first."
                )
            return {"default_provider": provider}

        await self._edit(interaction, f"default {provider}", edit)
        await self._done(interaction, f"{ProviderName(provider).label} is now the default.")
