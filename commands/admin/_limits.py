"""/reelbot tiers and providers: how much, and with which provider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core.guild import store as guild_store
from bot.core.guild.models import GuildConfig, QuotaTier, Window
from bot.core.i18n import later, ngettext, number, translate
from bot.discord_layer.errors import BadRequest, locale_of
from bot.discord_layer.translator import tr
from providers import ProviderName

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

from commands.admin._base import PROVIDERS, AdminGroup, _window


class Tiers(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(bot, name="tiers", description=tr("command", "Quota tiers per role"))

    @app_commands.command(
        name="set",
        description=tr("command", "Set a role's quota tier"),
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
        providers=tr("command", "runcomfy, wavespeed (empty: all)"),
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
                later(
                    "reply",
                    "Unknown provider name: {names}. Use runcomfy or wavespeed.",
                    names=", ".join(unknown),
                )
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
        locale = locale_of(interaction)
        values = {
            "role": role.mention,
            "count": number(locale, limit),
            "window": _window(Window(window), locale),
            "seconds": number(locale, max_duration),
            "resolution": max_resolution,
        }
        if names:
            text = ngettext(
                locale,
                "{role}: {count} unit per {window}, clips up to {seconds} s at up to "
                "{resolution}, providers {providers}. Members get the most generous tier among "
                "their roles.",
                "{role}: {count} units per {window}, clips up to {seconds} s at up to "
                "{resolution}, providers {providers}. Members get the most generous tier among "
                "their roles.",
                limit,
                context="reply",
                providers=", ".join(names),
                **values,
            )
        else:
            text = ngettext(
                locale,
                "{role}: {count} unit per {window}, clips up to {seconds} s at up to "
                "{resolution}. Members get the most generous tier among their roles.",
                "{role}: {count} units per {window}, clips up to {seconds} s at up to "
                "{resolution}. Members get the most generous tier among their roles.",
                limit,
                context="reply",
                **values,
            )
        await self._done(interaction, text)

    @app_commands.command(name="remove", description=tr("command", "Remove a role's quota tier"))
    @app_commands.describe(role=tr("command", "The role whose tier is removed"))
    async def tiers_remove(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        gid = interaction.guild_id or 0
        removed = await self.bot.db.run(
            lambda s: guild_store.remove_tier(session=s, guild_id=gid, role_id=role.id)
        )
        locale = locale_of(interaction)
        await self._done(
            interaction,
            translate(locale, "Removed {role}'s tier.", context="reply", role=role.mention)
            if removed
            else translate(locale, "That role has no tier.", context="reply"),
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
        locale, label = locale_of(interaction), ProviderName(provider).label
        await self._done(
            interaction,
            translate(locale, "{provider} is enabled.", context="reply", provider=label)
            if ProviderName(provider) in self.bot.providers
            else translate(
                locale,
                "{provider} is enabled (it has no API key on this bot yet).",
                context="reply",
                provider=label,
            ),
        )

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
        await self._done(
            interaction,
            translate(
                locale_of(interaction),
                "{provider} is disabled on this server.",
                context="reply",
                provider=ProviderName(provider).label,
            ),
        )

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
                    later(
                        "reply",
                        "{provider} is disabled here; enable it first.",
                        provider=ProviderName(provider).label,
                    )
                )
            return {"default_provider": provider}

        await self._edit(interaction, f"default {provider}", edit)
        await self._done(
            interaction,
            translate(
                locale_of(interaction),
                "{provider} is now the default.",
                context="reply",
                provider=ProviderName(provider).label,
            ),
        )
