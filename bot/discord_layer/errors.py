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
from bot.core.i18n import Wording, ngettext, number, sentences, translate
from bot.core.images import ImageRejected
from bot.core.observability import logs
from bot.core.quotas import Usage
from bot.discord_layer.acks import acks_of
from bot.discord_layer.render import safe_text
from providers import Mode

log = logging.getLogger(__name__)

# Discord's JSON error code for a second response to one interaction ("Interaction has
# already been acknowledged", topics/opcodes-and-status-codes).
ALREADY_ACKNOWLEDGED = 40060


class UserFacingError(Exception):
    """An error whose message is written for the member who caused it, shown ephemerally:
    a `Wording` (translated into the member's language when shown) or a text already in it."""

    def __init__(self, message: str | Wording) -> None:
        self.message = message
        super().__init__(message if isinstance(message, str) else message.english())

    def text(self, locale: str | None) -> str:
        return self.message if isinstance(self.message, str) else self.message.text(locale)


class BadRequest(UserFacingError):
    """The member asked for something that cannot be done; they can change it and retry."""


class ChannelError(UserFacingError):
    """The bot cannot work in this channel (missing permissions)."""


def stamp(when: float, style: str) -> str:
    """A Discord timestamp: each client shows it in its own language and time zone
    (reference, "Message Formatting": R relative, t short time, f short date and time)."""
    return f"<t:{int(when)}:{style}>"


def locale_of(interaction: discord.Interaction[Any]) -> str:
    """The member's own language, as their Discord client says it (private replies)."""
    return interaction.locale.value


def member_text(refusal: Refused, locale: str | None = None) -> str:
    """The words a member reads for a refusal of the core, in a Discord locale's language
    (English by default): the one place they are chosen."""
    match refusal:
        case Refusal(quoted_limit=limit):
            return refusal.render(
                lambda text: safe_text(text, limit) if limit else safe_text(text), locale
            )
        case QuotaExceeded():
            return quota_message(
                refusal.usage, need=refusal.cost, available_at=refusal.available_at, locale=locale
            )
        case BudgetExhausted():
            return ngettext(
                locale,
                "This server has used its daily video budget ({budget} unit). It resets {when}.",
                "This server has used its daily video budget ({budget} units). It resets {when}.",
                refusal.budget,
                context="reply",
                budget=number(locale, refusal.budget),
                when=stamp(refusal.resets_at, "R"),
            )
        case TooManyInFlight():
            return ngettext(
                locale,
                "You already have {count} video in progress (the limit is {limit}). Wait for "
                "it to finish, or cancel it.",
                "You already have {count} videos in progress (the limit is {limit}). Wait for "
                "one to finish, or cancel one.",
                refusal.usage.in_flight,
                context="reply",
                count=number(locale, refusal.usage.in_flight),
                limit=number(locale, refusal.usage.max_in_flight),
            )
        case NotAccepting():
            return translate(
                locale, "I'm restarting right now; please try again in a minute.", context="reply"
            )
        case NoProviders():
            return translate(
                locale,
                "No video provider is set up on this bot yet; tell an admin.",
                context="reply",
            )
        case ProviderNotConfigured():
            return translate(
                locale,
                "{provider} isn't set up on this bot; choose {available}.",
                context="reply",
                provider=refusal.name.label,
                available=", ".join(n.label for n in refusal.available),
            )
        case InvalidRequest(field=None):
            return refusal.detail
        case InvalidRequest():
            return f"{refusal.field}: {refusal.detail}."
        case OptionUnsupported():
            return _unsupported_text(refusal, locale)
        case ChannelUnusable():
            return translate(
                locale,
                "I can't post videos in this channel: I'm missing {permissions}. "
                "Ask an admin to grant them, or use another channel.",
                context="reply",
                permissions=", ".join(permission_name(p, locale) for p in refusal.missing),
            )
        case ImageRejected():
            return refusal.wording.text(locale)
        case AlreadyStarted():
            return translate(
                locale,
                "I already have this request; its video is on its way. Nothing more was charged.",
                context="reply",
            )
        case _:
            return str(refusal)


def permission_name(permission: str, locale: str | None) -> str:
    """A permission as Discord's own settings name it in the member's language."""
    match permission:
        case "view_channel":
            return translate(locale, "View Channel", context="reply")
        case "send_messages":
            return translate(locale, "Send Messages", context="reply")
        case "send_messages_in_threads":
            return translate(locale, "Send Messages In Threads", context="reply")
        case "embed_links":
            return translate(locale, "Embed Links", context="reply")
        case "attach_files":
            return translate(locale, "Attach Files", context="reply")
        case "read_message_history":
            return translate(locale, "Read Message History", context="reply")
        case _:
            return permission.replace("_", " ").title()


def _unsupported_text(refusal: OptionUnsupported, locale: str | None) -> str:
    """What the provider cannot do, plus which other configured provider would accept it."""
    error = refusal.error
    detail = unsupported_detail(refusal, locale)
    if not refusal.alternatives:
        return translate(locale, "{detail}.", context="reply", detail=detail)
    value = seconds(locale, error.value) if error.option == "duration" else str(error.value)
    return translate(
        locale,
        "{detail}; choose {alternatives} for {value}.",
        context="reply",
        detail=detail,
        alternatives=or_list(locale, [n.label for n in refusal.alternatives]),
        value=value,
    )


def seconds(locale: str | None, value: object) -> str:
    """A clip length: "10 s" (the unit as the options show it)."""
    shown = number(locale, value) if isinstance(value, int | float) else str(value)
    return translate(locale, "{seconds} s", context="reply", seconds=shown)


def unsupported_detail(refusal: OptionUnsupported, locale: str | None) -> str:
    """The provider's refusal, from its data (`UnsupportedOption`), in the member's language."""
    error = refusal.error
    mode = (
        translate(locale, "image-to-video", context="reply")
        if refusal.mode is Mode.IMAGE
        else translate(locale, "text-to-video", context="reply")
    )
    where = {"provider": error.provider, "mode": mode}
    accepted = list(error.accepted)
    match error.option:
        case "aspect_ratio" if not accepted:
            return translate(
                locale,
                "{provider} {mode} follows the shape of your image, so the aspect ratio can't "
                "be chosen; leave it out",
                context="reply",
                **where,
            )
        case "aspect_ratio":
            return translate(
                locale,
                "{provider} {mode} doesn't offer aspect ratio {value}; choose one of {accepted}",
                context="reply",
                value=error.value,
                accepted=", ".join(str(a) for a in accepted),
                **where,
            )
        case "duration" if len(accepted) == 1:
            return translate(
                locale,
                "{provider} {mode} makes {only}-second clips only, so duration {value} isn't "
                "available",
                context="reply",
                only=number(locale, accepted[0]),  # type: ignore[arg-type]
                value=seconds(locale, error.value),
                **where,
            )
        case "duration":
            return translate(
                locale,
                "{provider} {mode} offers duration {accepted}",
                context="reply",
                accepted=or_list(locale, [seconds(locale, a) for a in accepted]),
                **where,
            )
        case "resolution" if len(accepted) == 1:
            return translate(
                locale,
                "{provider} {mode} makes {only} videos only",
                context="reply",
                only=accepted[0],
                **where,
            )
        case "resolution":
            return translate(
                locale,
                "{provider} {mode} offers {accepted}",
                context="reply",
                accepted=or_list(locale, [str(a) for a in accepted]),
                **where,
            )
        case _:
            return error.detail


def or_list(locale: str | None, names: list[str]) -> str:
    """ "A or B" in the reader's language."""
    return translate(locale, " or ", context="reply").join(names)


def quota_message(
    usage: Usage, *, need: int, available_at: float | None, locale: str | None = None
) -> str:
    used, limit = number(locale, usage.used), number(locale, usage.limit)
    if need > 1:
        text = translate(
            locale,
            "You've used {used} of your {limit} video units for now and this one needs {need}.",
            context="reply",
            used=used,
            limit=limit,
            need=number(locale, need),
        )
    else:
        text = translate(
            locale,
            "You've used {used} of your {limit} video units for now.",
            context="reply",
            used=used,
            limit=limit,
        )
    if available_at is not None:
        later_on = translate(
            locale,
            "You can make it {relative} (at {time}).",
            context="reply",
            relative=stamp(available_at, "R"),
            time=stamp(available_at, "t"),
        )
    elif need > usage.limit:
        later_on = translate(
            locale, "That is more than your whole quota; try a 5-second clip.", context="reply"
        )
    else:
        later_on = ""
    return sentences(locale, text, later_on)


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
    """Turn any error from a command or button into a reply in the member's language: its
    own words for a UserFacingError, a short apology with a reference otherwise."""
    original = getattr(error, "original", error)
    locale = locale_of(interaction)
    if isinstance(original, UserFacingError):
        await tell(interaction, original.text(locale))
        return
    if isinstance(original, Refused):
        await tell(interaction, member_text(original, locale))
        return
    if isinstance(original, discord.HTTPException) and original.code == ALREADY_ACKNOWLEDGED:
        # The same interaction was delivered twice and the other delivery answered it first:
        # the member already has that answer, and Discord takes no second one.
        log.info("interaction %s was already answered (a second delivery)", interaction.id)
        return
    if isinstance(error, app_commands.CheckFailure):
        await tell(interaction, check_failure_text(error, locale))
        return
    reference = uuid.uuid4().hex[:8]
    log.error("unexpected error (reference %s)", reference, exc_info=original)
    await tell(
        interaction,
        translate(
            locale,
            "Sorry, something went wrong on my side. Nothing was charged for it. "
            "If it keeps happening, give a moderator this reference: `{reference}`.",
            context="reply",
            reference=reference,
        ),
    )


def check_failure_text(error: app_commands.CheckFailure, locale: str | None) -> str:
    """discord.py's own check failures, in the member's language."""
    match error:
        case app_commands.NoPrivateMessage():
            return translate(locale, "This command can only be used in a server.", context="reply")
        case _:
            return str(error) or translate(
                locale, "You can't use this command here.", context="reply"
            )


class ReelbotTree(app_commands.CommandTree[discord.Client]):
    async def interaction_check(self, interaction: discord.Interaction[discord.Client]) -> bool:
        # Each interaction runs in its own task: its log lines (and those of the jobs it
        # starts) carry its id and server.
        logs.bind(interaction_id=interaction.id, guild_id=interaction.guild_id)
        acks = acks_of(interaction.client)
        if acks is not None:
            acks.arrived(interaction.id)
        return True

    async def on_error(
        self, interaction: discord.Interaction[discord.Client], error: app_commands.AppCommandError
    ) -> None:
        acks = acks_of(interaction.client)
        if acks is not None:
            acks.answered(interaction.id)
        await report(interaction, error)
