"""Posting a job's public status message (on acceptance, or on a moderator's approval)."""

from __future__ import annotations

import discord

from bot.core.jobs.models import Job
from bot.discord_layer import message_image, render
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.presenter import DiscordPresenter
from bot.discord_layer.rate_limits import patiently
from bot.discord_layer.views import status_view


class StatusPoster:
    def __init__(self, *, channels: ChannelGetter, presenter: DiscordPresenter) -> None:
        self.channels = channels
        self.presenter = presenter

    async def post(
        self, job: Job, image: tuple[bytes, str] | None, *, content: str | None = None
    ) -> discord.Message:
        """Post a job's public status message, re-hosting its image (slash-command attachments
        are ephemeral). `content` may mention the requester, and no one else."""
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        name = None if image is None else f"{message_image.SCHEME}{image[1]}"

        async def send() -> discord.Message:
            return await channel.send(
                content,
                # the name is shown in the embed, and never expires
                embed=render.status_embed(job, image_name=name),
                view=status_view(job.id, job.guild_locale),
                allowed_mentions=render.requester_only(job.user_id),
                **message_image.upload(image),
            )

        async with self.presenter.posting(job.channel_id):  # ahead of status edits
            return await patiently(send, what=f"job {job.id}: the status post")
