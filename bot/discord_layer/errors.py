"""Errors shown to members, and the one place their wording reaches Discord."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import discord
from discord import app_commands

from bot.core.errors import (
    AlreadyStarted,
    BudgetExhausted,
    ChannelUnusable,
    InvalidRequest,
    NoProviders,
    NotAccepting,
    OptionUnsupported,
    ProviderNotConfigured,
    QuotaExceeded,
    Refusal,
    Refused,
    TooManyInFlight,
)
from bot.core.images import ImageRejected
from bot.core.observability import logs
from bot.core.quotas import Usage
from bot.discord_layer.render import safe_text

log = logging.getLogger(__name__)

# Discord's JSON error code for a second response to one interaction ("Interaction has
# already been acknowledged", topics/opcodes-and-status-codes).
ALREADY_ACKNOWLEDGED = 40060


class UserFacingError(Exception):
    """An error whose message is written for the member who caused it, shown ephemerally."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BadRequest(UserFacingError):
    """The member asked for something that cannot be done; they can change it and retry."""


class ChannelError(UserFacingError):
    """The bot cannot work in this channel (missing permissions)."""


def member_text(refusal: Refused) -> str:
    """The words a member reads for a refusal of the core: the one place they are chosen."""
    match refusal:
        case Refusal(quoted_limit=limit):
            return refusal.render(lambda text: safe_text(text, limit) if limit else safe_text(text))
        case QuotaExceeded():
            return quota_message(
                refusal.usage, need=refusal.cost, available_at=refusal.available_at
            )
        case BudgetExhausted():
            return (
                f"This server has used its daily video budget ({refusal.budget} units). "
                f"It resets <t:{int(refusal.resets_at)}:R>."
            )
        case TooManyInFlight():
            return (
                f"You already have {refusal.usage.in_flight} videos in progress (the limit is "
                f"{refusal.usage.max_in_flight}). Wait for one to finish, or cancel one."
            )
        case NotAccepting():
            return "I'm restarting right now; please try again in a minute."
        case NoProviders():
            return "No video provider is set up on this bot yet; tell an admin."
        case ProviderNotConfigured():
            available = ", ".join(n.label for n in refusal.available)
            return f"{refusal.name.label} isn't set up on this bot; choose {available}."
        case InvalidRequest(field=None):
            return refusal.detail
        case InvalidRequest():
            return f"{refusal.field}: {refusal.detail}."
        case OptionUnsupported():
            return _unsupported_text(refusal)
        case ChannelUnusable():
            names = ", ".join(p.replace("_", " ").title() for p in refusal.missing)
            return (
                f"I can't post videos in this channel: I'm missing {names}. "
                "Ask an admin to grant them, or use another channel."
            )
        case ImageRejected():
            return refusal.message
        case AlreadyStarted():
            return "I already have this request; its video is on its way. Nothing more was charged."
        case _:
            return str(refusal)


def _unsupported_text(refusal: OptionUnsupported) -> str:
    """The provider's refusal plus which other configured provider would accept it."""
    error = refusal.error
    shown = {"duration": f"{error.value} s"}.get(error.option, str(error.value))
    text = error.detail
    if refusal.alternatives:
        text += f"; choose {' or '.join(n.label for n in refusal.alternatives)} for {shown}"
    return text + "."


def quota_message(usage: Usage, *, need: int, available_at: float | None) -> str:
    text = f"You've used {usage.used} of your {usage.limit} video units for now"
    text += f" and this one needs {need}." if need > 1 else "."
    if available_at is not None:
        when = int(available_at)
        text += f" You can make it <t:{when}:R> (at <t:{when}:t>)."
    elif need > usage.limit:
        text += " That is more than your whole quota; try a 5-second clip."
    return text


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
    if isinstance(original, Refused):
        await tell(interaction, member_text(original))
        return
    if isinstance(original, discord.HTTPException) and original.code == ALREADY_ACKNOWLEDGED:
        # The same interaction was delivered twice and the other delivery answered it first:
        # the member already has that answer, and Discord takes no second one.
        log.info("interaction %s was already answered (a second delivery)", interaction.id)
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


class ReelbotTree(app_commands.CommandTree[discord.Client]):
    async def interaction_check(self, interaction: discord.Interaction[discord.Client]) -> bool:
        # Each interaction runs in its own task: its log lines (and those of the jobs it
        # starts) carry its id and server.
        logs.bind(interaction_id=interaction.id, guild_id=interaction.guild_id)
        return True

    async def on_error(
        self, interaction: discord.Interaction[discord.Client], error: app_commands.AppCommandError
    ) -> None:
        await report(interaction, error)
