"""Moderators' side of approval mode and flagged videos: review messages and their buttons."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot import render
from bot.errors import BadRequest, UserFacingError
from bot.jobs.models import Job, JobState
from bot.jobs.store import BudgetExhausted, QuotaExceeded
from bot.views import review_view

if TYPE_CHECKING:
    from bot.client import VideoBot

log = logging.getLogger(__name__)


class Review:
    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot

    async def post_request(self, job: Job, review_channel_id: int) -> int:
        """Post a held request in the review channel; return the message id."""
        channel = self.bot.get_partial_messageable(review_channel_id, guild_id=job.guild_id)
        message = await channel.send(
            embed=render.review_embed(job),
            view=review_view(job.id),
            allowed_mentions=render.NO_PINGS,
        )
        return message.id

    async def check_moderator(self, interaction: discord.Interaction[VideoBot]) -> bool:
        """Server-side check, whatever Discord showed: Manage Messages here, or Manage Server."""
        permissions = interaction.permissions
        if permissions.manage_messages or permissions.manage_guild or permissions.administrator:
            return True
        await _tell(interaction, "Only moderators (Manage Messages) can review requests.")
        return False

    async def _job(self, interaction: discord.Interaction[VideoBot], job_id: str) -> Job:
        job = await self.bot.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest("I can't find that job on this server.")
        return job

    async def approve(self, interaction: discord.Interaction[VideoBot], job_id: str) -> None:
        if not await self.check_moderator(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self._job(interaction, job_id)
        config = await self.bot.guild_config(job.guild_id)
        try:
            moved = await self.bot.runner.approve(
                job_id, moderator_id=interaction.user.id, budget=config.daily_budget
            )
        except QuotaExceeded as error:
            raise UserFacingError(
                f"Can't approve: the member has used {error.usage.used} of {error.usage.limit} "
                "units. Reject it, or grant them more with /reelbot members grant."
            ) from error
        except BudgetExhausted as error:
            raise UserFacingError(
                f"Can't approve: the server's daily budget ({error.budget} units) is used up; "
                f"it resets <t:{int(error.resets_at)}:R>."
            ) from error
        if moved is None:
            raise UserFacingError(f"This request is no longer pending ({job.state.value}).")
        await self._close(interaction, moved, f"✅ Approved by <@{interaction.user.id}>")
        await interaction.edit_original_response(content="Approved; the video is being made.")

    async def reject(
        self, interaction: discord.Interaction[VideoBot], job_id: str, reason: str
    ) -> None:
        if not await self.check_moderator(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._job(interaction, job_id)
        text = f"rejected by a moderator: {reason}" if reason else "rejected by a moderator"
        moved = await self.bot.runner.reject(job_id, moderator_id=interaction.user.id, reason=text)
        if moved is None:
            raise UserFacingError("This request is no longer pending.")
        outcome = f"🚫 Rejected by <@{interaction.user.id}>" + (
            f": {render.safe_text(reason, 300)}" if reason else ""
        )
        await self._close(interaction, moved, outcome)
        await interaction.edit_original_response(content="Rejected; the member was told.")

    async def release(self, interaction: discord.Interaction[VideoBot], job_id: str) -> None:
        if not await self.check_moderator(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._job(interaction, job_id)
        moved = await self.bot.runner.release(job_id, moderator_id=interaction.user.id)
        if moved is None:
            raise UserFacingError("This video is no longer held.")
        await self._close(
            interaction,
            moved,
            f"✅ Posted behind a spoiler by <@{interaction.user.id}>",
            flagged=True,
        )
        await interaction.edit_original_response(
            content="Released; it will be posted behind a spoiler."
        )

    async def discard(self, interaction: discord.Interaction[VideoBot], job_id: str) -> None:
        if not await self.check_moderator(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._job(interaction, job_id)
        moved = await self.bot.runner.discard(job_id, moderator_id=interaction.user.id)
        if moved is None:
            raise UserFacingError("This video is no longer held.")
        await self._close(
            interaction, moved, f"🗑️ Discarded by <@{interaction.user.id}>", flagged=True
        )
        await interaction.edit_original_response(
            content="Discarded; the member got their quota back."
        )

    async def expire(self, job: Job) -> None:
        """Mark a review message of a request that expired."""
        if job.review_message_id is None:
            return
        await self._edit(job, "⌛ Expired: nobody reviewed it in time", flagged=False)

    async def _close(
        self,
        interaction: discord.Interaction[VideoBot],
        job: Job,
        outcome: str,
        *,
        flagged: bool = False,
    ) -> None:
        if interaction.message is not None:
            try:
                await interaction.message.edit(
                    embed=render.review_embed(job, flagged=flagged, outcome=outcome),
                    view=None,
                    allowed_mentions=render.NO_PINGS,
                )
            except discord.HTTPException as error:
                log.warning(
                    "job %s: could not update the review message (%s)", job.id, error.status
                )

    async def _edit(self, job: Job, outcome: str, *, flagged: bool) -> None:
        config = await self.bot.guild_config(job.guild_id)
        if config.review_channel_id is None or job.review_message_id is None:
            return
        channel = self.bot.get_partial_messageable(config.review_channel_id, guild_id=job.guild_id)
        try:
            await channel.get_partial_message(job.review_message_id).edit(
                embed=render.review_embed(job, flagged=flagged, outcome=outcome), view=None
            )
        except discord.HTTPException as error:
            log.warning("job %s: could not update the review message (%s)", job.id, error.status)


async def _tell(interaction: discord.Interaction[VideoBot], message: str) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(message, ephemeral=True)
    else:
        await interaction.response.send_message(message, ephemeral=True)


__all__ = ["JobState", "Review"]
