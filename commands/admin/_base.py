"""What every /reelbot command group shares: the server-side permission check and a few
small helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core.bounded import bounded_join
from bot.core.guild import store as guild_store
from bot.core.guild.models import GuildConfig, Window
from bot.core.i18n import later, translate
from bot.discord_layer.errors import locale_of
from providers import ProviderName

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot


MANAGERS = discord.Permissions(manage_guild=True)
PROVIDERS = [Choice(name=p.label, value=p.value) for p in ProviderName]
REVIEW_CHANNEL_FIRST = later("reply", "Set a review channel first: /reelbot review channel.")


class AdminGroup(app_commands.Group):
    """A /reelbot group. Discord hides the commands from members without Manage Server by
    default, but any admin can change that gate, so every call is checked again here."""

    def __init__(self, bot: VideoBot, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Check the caller, then acknowledge at once (privately), before any database work:
        Discord wants the first response within 3 s, and a busy database must not turn a saved
        change into "The application did not respond". Every answer then edits it (`_done`)."""
        permissions = interaction.permissions
        if interaction.guild_id is None or not (
            permissions.manage_guild or permissions.administrator
        ):
            raise app_commands.CheckFailure(
                translate(
                    locale_of(interaction),
                    "Only members with the Manage Server permission can change Reelbot's settings.",
                    context="reply",
                )
            )
        if not interaction.response.is_done():  # a sub-group's check runs after its parent's
            await interaction.response.defer(ephemeral=True, thinking=True)
        return True

    async def _update(
        self, interaction: discord.Interaction[VideoBot], note: str, **changes: Any
    ) -> GuildConfig:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        return await self.bot.db.run(
            lambda s: guild_store.update_config(
                session=s, guild_id=gid, actor_id=actor, now=now, note=note, **changes
            )
        )

    async def _edit(
        self,
        interaction: discord.Interaction[VideoBot],
        note: str,
        edit: Callable[[GuildConfig], dict[str, Any]],
    ) -> GuildConfig:
        """Read and change the settings in one transaction (see `guild_store.edit_config`):
        for any change computed from the current value, such as a list edit."""
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        return await self.bot.db.run(
            lambda s: guild_store.edit_config(
                session=s, guild_id=gid, actor_id=actor, now=now, note=note, edit=edit
            )
        )

    async def _edit_ids(
        self, interaction: discord.Interaction[VideoBot], field: str, item_id: int, *, add: bool
    ) -> list[int]:
        """Add an id to, or remove it from, one of the server's id lists; return the list."""

        def edit(config: GuildConfig) -> dict[str, Any]:
            current: list[int] = getattr(config, field)
            ids = sorted({*current, item_id}) if add else [i for i in current if i != item_id]
            return {field: ids}

        verb = "add" if add else "remove"
        saved = await self._edit(interaction, f"{field} {verb} {item_id}", edit)
        return list(getattr(saved, field))

    @staticmethod
    async def _done(
        interaction: discord.Interaction[VideoBot],
        text: str | None = None,
        *,
        embed: discord.Embed | None = None,
    ) -> None:
        """Replace the private "thinking…" placeholder with the answer."""
        if embed is None:
            await interaction.edit_original_response(content=text)
        else:
            await interaction.edit_original_response(content=text, embed=embed)


def _window(window: Window, locale: str | None) -> str:
    """A tier's window after "units per": "UTC day" or "24 h"."""
    if window is Window.DAILY:
        return translate(locale, "UTC day", context="reply")
    return translate(locale, "24 h", context="reply")


def _channel(channel_id: int | None, locale: str | None) -> str:
    return f"<#{channel_id}>" if channel_id else translate(locale, "none", context="reply")


def _list(
    ids: list[int], mention: str, empty: str, *, limit: int = 1000, locale: str | None = None
) -> str:
    """Mentions of the ids, at most `limit` characters ("… and 9 more", in `locale`'s
    language)."""
    return bounded_join([mention.format(i) for i in ids], limit=limit, empty=empty, locale=locale)


def _user(user_id: int) -> str:
    return f"<@{user_id}>"


def _role(role_id: int) -> str:
    return f"<@&{role_id}>"
