"""Results delivered by direct message: the member's DM channel, the note when their DMs are
closed, and finding a DM'd result again after a restart."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import discord

from bot.core.i18n import translate
from bot.core.jobs.models import Job
from bot.discord_layer.channels import ChannelGetter


def closed_note(job: Job) -> str:
    """Said in the channel (the server's language) when the DM could not be sent: Discord
    answers 403 with JSON code 50007 "Cannot send messages to this user" (topics/opcodes-and-
    status-codes) when the member closed DMs from server members or blocked the bot; opening
    the DM channel itself succeeds."""
    return translate(
        job.guild_locale,
        "You asked for your videos by direct message, but your DMs are closed to me, so here "
        "it is.",
        context="message",
    )


def with_note(content: str, note: str) -> str:
    return f"{content}\n{note}" if note else content


class DirectDelivery:
    def __init__(self, channels: ChannelGetter) -> None:
        self.channels = channels

    async def channel(self, user_id: int) -> discord.PartialMessageable:
        """The member's DM channel: `POST /users/@me/channels` with `recipient_id` returns it
        (the same channel every time: resources/user, "Create DM")."""
        client = self.channels.client
        data = await client.http.start_private_message(user_id)
        return client.get_partial_messageable(int(data["id"]), type=discord.ChannelType.private)

    async def find(self, job: Job) -> int | None:
        """The result already sent to the member for this job (its embed names the job)."""
        bot_user = self.channels.client.user
        if bot_user is None:
            return None
        since = datetime.fromtimestamp(job.updated_at - 120, tz=UTC)
        with contextlib.suppress(discord.HTTPException):
            private = await self.channel(job.user_id)
            async for message in private.history(limit=50, after=since, oldest_first=True):
                if message.author.id != bot_user.id or not message.embeds:
                    continue
                footer = message.embeds[0].footer.text or ""
                if job.id in footer:
                    return message.id
        return None
