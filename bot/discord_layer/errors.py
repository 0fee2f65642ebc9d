"""Errors shown to members, and the one place their wording reaches Discord."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.core.observability import logs

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

log = logging.getLogger(__name__)


class UserFacingError(Exception):
    """An error whose message is written for the member who caused it, shown ephemerally."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BadRequest(UserFacingError):
    """The member asked for something that cannot be done; they can change it and retry."""


class QuotaError(UserFacingError):
    """The member is out of quota or has too many jobs running."""


class ChannelError(UserFacingError):
    """The bot cannot work in this channel (missing permissions)."""


async def tell(interaction: discord.Interaction[Any], message: str) -> None:
    """Answer ephemerally, whether or not the interaction was already acknowledged."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)
            return
        try:
            # Our commands defer ephemerally first: replace the "thinking…" placeholder.
            await interaction.edit_original_response(content=message)
        except discord.HTTPException:
            await interaction.followup.send(message, ephemeral=True)
    except discord.HTTPException as error:
        log.warning("could not tell the member (%s): %s", error.status, message)


async def report(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Turn any error from a command or button into a reply: its own words for a
    UserFacingError, a short apology with a reference otherwise."""
    original = getattr(error, "original", error)
    if isinstance(original, UserFacingError):
        await tell(interaction, original.message)
        return
    if isinstance(error, app_commands.CheckFailure):
        await tell(interaction, str(error) or "You can't use this command here.")
        return
    reference = uuid.uuid4().hex[:8]
    log.error("unexpected error (reference %s)", reference, exc_info=original)
    await tell(
        interaction,
        "Sorry, something went wrong on my side. Nothing was charged for it. "
        f"If it keeps happening, give a moderator this reference: `{reference}`.",
    )


class ReelbotTree(app_commands.CommandTree["VideoBot"]):
    async def interaction_check(self, interaction: discord.Interaction[VideoBot]) -> bool:
        # Each interaction runs in its own task: its log lines (and those of the jobs it
        # starts) carry its id and server.
        logs.bind(interaction_id=interaction.id, guild_id=interaction.guild_id)
        return True

    async def on_error(
        self, interaction: discord.Interaction[VideoBot], error: app_commands.AppCommandError
    ) -> None:
        await report(interaction, error)
