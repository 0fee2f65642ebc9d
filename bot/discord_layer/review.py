"""Moderators' side of approval mode and flagged videos: review messages and their buttons."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.core.errors import BudgetExhausted, QuotaExceeded
from bot.core.images import ImageRejected, check_size
from bot.core.jobs.models import Job, JobState
from bot.discord_layer import render
from bot.discord_layer.errors import BadRequest, UserFacingError
from bot.discord_layer.views import review_view
from providers import Mode

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

log = logging.getLogger(__name__)


class Review:
    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot

    async def post_request(
        self, job: Job, review_channel_id: int, *, image: tuple[bytes, str] | None
    ) -> int:
        """Post a held request in the review channel, with its image shown; return the
        message id. The image stays on this message until the request is approved."""
        channel = self.bot.get_partial_messageable(review_channel_id, guild_id=job.guild_id)
        embed = render.review_embed(job)
        kwargs: dict[str, Any] = {}
        if image is not None:
            data, filename = image
            kwargs["file"] = discord.File(io.BytesIO(data), filename=filename)
            embed.set_image(url=f"attachment://{filename}")
        message = await channel.send(
            embed=embed, view=review_view(job.id), allowed_mentions=render.NO_PINGS, **kwargs
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
        if job.state is not JobState.PENDING_REVIEW:
            raise UserFacingError(f"This request is no longer pending ({job.state.value}).")
        image = await self._held_image(interaction, job)
        # The public status message appears now, before the job can reach a provider slot:
        # it carries the image whose URL the provider is given.
        job.state = JobState.ACCEPTED  # shown as approved and waiting; stored by approve()
        try:
            status = await self.bot.actions.post_status(
                job,
                image,
                content=f"<@{job.user_id}>, a moderator approved your request.",
            )
        except discord.HTTPException as error:
            await self._unpostable(interaction, job_id, error)
            return
        image_url = status.attachments[0].url if image is not None and status.attachments else None
        await self.bot.runner.set_fields(job.id, status_message_id=status.id, image_url=image_url)
        config = await self.bot.guild_config(job.guild_id)
        try:
            moved = await self.bot.runner.approve(
                job_id, moderator_id=interaction.user.id, budget=config.daily_budget
            )
        except QuotaExceeded as error:
            await self._withdraw(status)
            raise UserFacingError(
                f"Can't approve: the member has used {error.usage.used} of {error.usage.limit} "
                "units. Reject it, or grant them more with /reelbot members grant."
            ) from error
        except BudgetExhausted as error:
            await self._withdraw(status)
            raise UserFacingError(
                f"Can't approve: the server's daily budget ({error.budget} units) is used up; "
                f"it resets <t:{int(error.resets_at)}:R>."
            ) from error
        current = moved or await self.bot.job(job_id)
        if current is None or current.status_message_id != status.id:
            await self._withdraw(status)  # another moderator's approval got there first
        if moved is None:
            state = current.state.value if current is not None else "gone"
            raise UserFacingError(f"This request is no longer pending ({state}).")
        await self._close(interaction, moved, f"✅ Approved by <@{interaction.user.id}>")
        await interaction.edit_original_response(content="Approved; the video is being made.")

    async def _held_image(
        self, interaction: discord.Interaction[VideoBot], job: Job
    ) -> tuple[bytes, str] | None:
        """The image of a held image request, read back from its review message."""
        if job.mode != Mode.IMAGE.value:
            return None
        message = interaction.message
        try:
            if message is None or message.id != job.review_message_id:
                config = await self.bot.guild_config(job.guild_id)
                if config.review_channel_id is None or job.review_message_id is None:
                    raise BadRequest("I can't find this request's image; reject it instead.")
                channel = self.bot.get_partial_messageable(
                    config.review_channel_id, guild_id=job.guild_id
                )
                message = await channel.fetch_message(job.review_message_id)
            attachment = message.attachments[0]
            check_size(attachment.size)
            return await attachment.read(), attachment.filename
        except (discord.HTTPException, IndexError, ImageRejected) as error:
            raise BadRequest(
                "I can't read this request's image from the review message; reject it instead."
            ) from error

    async def _unpostable(
        self, interaction: discord.Interaction[VideoBot], job_id: str, error: discord.HTTPException
    ) -> None:
        """The member's channel refused the status message: the request is rejected (nothing
        was charged), so it does not wait on as a pending job."""
        log.warning("job %s: status message refused on approval (%s)", job_id, error.status)
        moved = await self.bot.runner.reject(
            job_id,
            moderator_id=interaction.user.id,
            reason="I can't post in that channel any more",
        )
        channel = f"<#{moved.channel_id}>" if moved is not None else "that channel"
        if moved is not None:
            await self._close(interaction, moved, f"🚫 Not posted: I can't post in {channel}")
            await self._tell_member(moved)
        await interaction.edit_original_response(
            content=(
                f"I can't post in {channel}, so the request was rejected and nothing was "
                "charged. Check my permissions there (View Channel, Send Messages, Embed Links, "
                "Attach Files, Read Message History)."
            )
        )

    async def _withdraw(self, status: discord.Message) -> None:
        with contextlib.suppress(discord.HTTPException):
            await status.delete()

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
        await self._tell_member(moved)
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
        """Mark a review message of a request that expired, and tell the member."""
        if job.review_message_id is None:
            return
        await self._edit(job, "⌛ Expired: nobody reviewed it in time", flagged=False)
        if job.status_message_id is None:
            await self._tell_member(job)

    async def _tell_member(self, job: Job) -> None:
        """A request that was never public is answered privately: a direct message, or, when
        the member does not accept those, a mention in the channel without the prompt."""
        reason = render.safe_text(job.error or "no reason given", 300)
        prompt = render.safe_text(job.prompt or "", 100)
        try:
            user = self.bot.get_user(job.user_id) or await self.bot.fetch_user(job.user_id)
            await user.send(
                f"Your video request in <#{job.channel_id}> (“{prompt}”) was not approved: "
                f"{reason}. Nothing was charged.",
                allowed_mentions=render.NO_PINGS,
            )
            return
        except discord.HTTPException as error:
            log.info("job %s: could not message the member (%s)", job.id, error.code)
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            await channel.send(
                f"<@{job.user_id}>, your video request was not approved. Nothing was charged.",
                allowed_mentions=render.requester_only(job.user_id),
            )
        except discord.HTTPException as error:
            log.warning("job %s: could not tell the member (%s)", job.id, error.status)

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
