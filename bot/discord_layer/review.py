"""Moderators' side of approval mode and flagged videos: what their buttons do (the
messages themselves are posted and marked by `bot.discord_layer.review_messages`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import discord

from bot.core.errors import BudgetExhausted, QuotaExceeded
from bot.core.i18n import Wording, later, number, translate
from bot.core.images import ImageRejected
from bot.core.jobs import reasons
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.runner import JobRunner
from bot.core.lookups import Lookups
from bot.discord_layer import message_image, render
from bot.discord_layer.account_text import state_word
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.errors import (
    BadRequest,
    UserFacingError,
    locale_of,
    permission_name,
    stamp,
)
from bot.discord_layer.review_messages import ReviewMessages
from bot.discord_layer.status_post import StatusPoster
from bot.discord_layer.usage_text import cost_text
from providers import Mode

log = logging.getLogger(__name__)

#: What the bot needs in a member's channel to post there (README, the permissions).
_CHANNEL_PERMISSIONS = (
    "view_channel",
    "send_messages",
    "embed_links",
    "attach_files",
    "read_message_history",
)


class _Settle(Protocol):
    """Moves a held job on a moderator's word (`JobRunner.release`, `JobRunner.discard`)."""

    def __call__(self, job_id: str, *, moderator_id: int) -> Awaitable[Job | None]: ...


class Review:
    """The moderators' buttons on review messages: approve, reject, release, discard."""

    def __init__(
        self,
        *,
        runner: JobRunner,
        lookups: Lookups,
        messages: ReviewMessages,
        status: StatusPoster,
        channels: ChannelGetter,
    ) -> None:
        self.runner = runner
        self.lookups = lookups
        self.messages = messages
        self.status = status
        self.channels = channels

    async def check_moderator(self, interaction: discord.Interaction[discord.Client]) -> bool:
        """Server-side check, whatever Discord showed: Manage Messages here, or Manage Server."""
        permissions = interaction.permissions
        if permissions.manage_messages or permissions.manage_guild or permissions.administrator:
            return True
        await _tell(
            interaction,
            translate(
                locale_of(interaction),
                "Only moderators (Manage Messages) can review requests.",
                context="reply",
            ),
        )
        return False

    async def _job(self, interaction: discord.Interaction[discord.Client], job_id: str) -> Job:
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest(later("reply", "I can't find that job here."))
        return job

    async def approve(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        if not await self.check_moderator(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self._job(interaction, job_id)
        if job.state is not JobState.PENDING_REVIEW:
            raise UserFacingError(_not_pending(job.state))
        image = await self._held_image(interaction, job)
        # The public status message appears now, before the job can reach a provider slot:
        # it carries the image whose URL the provider is given.
        job.state = JobState.ACCEPTED  # shown as approved and waiting; stored by approve()
        try:
            status = await self.status.post(
                job,
                image,
                content=translate(
                    job.guild_locale,
                    "{mention}, a moderator approved your request.",
                    context="content",
                    mention=f"<@{job.user_id}>",
                ),
            )
        except discord.HTTPException as error:
            await self._unpostable(interaction, job_id, error)
            return
        image_url = message_image.image_url(status) if image is not None else None
        await self.runner.set_fields(job.id, status_message_id=status.id, image_url=image_url)
        config = await self.lookups.guild_config(job.guild_id)
        try:
            moved = await self.runner.approve(
                job_id, moderator_id=interaction.user.id, budget=config.daily_budget
            )
        except QuotaExceeded as error:
            await self._withdraw(status)
            raise UserFacingError(
                later(
                    "reply",
                    "Can't approve: the member has used {used} of {limit} units. Reject it, or "
                    "grant them more with /reelbot members grant.",
                    used=_number(error.usage.used),
                    limit=_number(error.usage.limit),
                )
            ) from error
        except BudgetExhausted as error:
            await self._withdraw(status)
            raise UserFacingError(
                later(
                    "reply",
                    "Can't approve: the server's daily budget ({budget}) is used up; it resets "
                    "{when}.",
                    budget=_units(error.budget),
                    when=stamp(error.resets_at, "R"),
                )
            ) from error
        current = moved or await self.lookups.job(job_id)
        if current is None or current.status_message_id != status.id:
            await self._withdraw(status)  # another moderator's approval got there first
        if moved is None:
            raise UserFacingError(_not_pending(current.state if current is not None else None))
        outcome = translate(
            moved.guild_locale,
            "✅ Approved by {moderator}",
            context="field_value",
            moderator=f"<@{interaction.user.id}>",
        )
        await self._close(interaction, moved, outcome)
        await interaction.edit_original_response(
            content=translate(
                locale_of(interaction), "Approved; the video is being made.", context="reply"
            )
        )

    async def _held_image(
        self, interaction: discord.Interaction[discord.Client], job: Job
    ) -> tuple[bytes, str] | None:
        """The image of a held image request, read back from its review message."""
        if job.mode != Mode.IMAGE.value:
            return None
        message = interaction.message
        try:
            if message is None or message.id != job.review_message_id:
                config = await self.lookups.guild_config(job.guild_id)
                # Where it was posted; older rows: the server's review channel now.
                channel_id = job.review_channel_id or config.review_channel_id
                if channel_id is None or job.review_message_id is None:
                    raise BadRequest(
                        later("reply", "I can't find this request's image; reject it instead.")
                    )
                channel = self.channels.get(channel_id, guild_id=job.guild_id)
                message = await channel.fetch_message(job.review_message_id)
            return await message_image.read_image(message, self.channels.client)
        except (discord.HTTPException, LookupError, ImageRejected) as error:
            raise BadRequest(
                later(
                    "reply",
                    "I can't read this request's image from the review message; reject it instead.",
                )
            ) from error

    async def _unpostable(
        self,
        interaction: discord.Interaction[discord.Client],
        job_id: str,
        error: discord.HTTPException,
    ) -> None:
        """The member's channel refused the status message: the request is rejected (nothing
        was charged), so it does not wait on as a pending job."""
        log.warning("job %s: status message refused on approval (%s)", job_id, error.status)
        moved = await self.runner.reject(
            job_id,
            moderator_id=interaction.user.id,
            reason=reasons.stored(reasons.CHANNEL_UNPOSTABLE),
        )
        locale = locale_of(interaction)
        channel = (
            f"<#{moved.channel_id}>"
            if moved is not None
            else translate(locale, "that channel", context="reply")
        )
        if moved is not None:
            outcome = translate(
                moved.guild_locale,
                "🚫 Not posted: I can't post in {channel}",
                context="field_value",
                channel=channel,
            )
            await self._close(interaction, moved, outcome)
            await self.messages.tell_member(moved)
        await interaction.edit_original_response(
            content=translate(
                locale,
                "I can't post in {channel}, so the request was rejected and nothing was "
                "charged. Check my permissions there ({permissions}).",
                context="reply",
                channel=channel,
                permissions=", ".join(permission_name(p, locale) for p in _CHANNEL_PERMISSIONS),
            )
        )

    async def _withdraw(self, status: discord.Message) -> None:
        with contextlib.suppress(discord.HTTPException):
            await status.delete()

    async def reject(
        self, interaction: discord.Interaction[discord.Client], job_id: str, reason: str
    ) -> None:
        if not await self.check_moderator(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._job(interaction, job_id)
        text = (
            reasons.stored(reasons.REJECTED_BECAUSE, reason=reason)
            if reason
            else reasons.stored(reasons.REJECTED)
        )
        moved = await self.runner.reject(job_id, moderator_id=interaction.user.id, reason=text)
        if moved is None:
            raise UserFacingError(_not_pending(None))
        moderator = f"<@{interaction.user.id}>"
        if reason:
            outcome = translate(
                moved.guild_locale,
                "🚫 Rejected by {moderator}: {reason}",
                context="field_value",
                moderator=moderator,
                reason=render.safe_text(reason, 300),
            )
        else:
            outcome = translate(
                moved.guild_locale,
                "🚫 Rejected by {moderator}",
                context="field_value",
                moderator=moderator,
            )
        await self._close(interaction, moved, outcome)
        await self.messages.tell_member(moved)
        await interaction.edit_original_response(
            content=translate(
                locale_of(interaction), "Rejected; the member was told.", context="reply"
            )
        )

    async def release(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        await self._settle_held(
            interaction,
            job_id,
            self.runner.release,
            outcome=later("field_value", "✅ Posted behind a spoiler by {moderator}"),
            answer=later("reply", "Released; it will be posted behind a spoiler."),
        )

    async def discard(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        await self._settle_held(
            interaction,
            job_id,
            self.runner.discard,
            outcome=later("field_value", "🗑️ Discarded by {moderator}"),
            answer=later("reply", "Discarded; the member got their quota back."),
        )

    async def _settle_held(
        self,
        interaction: discord.Interaction[discord.Client],
        job_id: str,
        settle: _Settle,
        *,
        outcome: Wording,
        answer: Wording,
    ) -> None:
        """A moderator's decision on a video held as NSFW: `settle` moves the job; the review
        post records `outcome` in the server's language, the moderator reads `answer` in theirs."""
        if not await self.check_moderator(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._job(interaction, job_id)
        moved = await settle(job_id, moderator_id=interaction.user.id)
        if moved is None:
            raise UserFacingError(later("reply", "This video is no longer held."))
        text = outcome.text(moved.guild_locale, moderator=f"<@{interaction.user.id}>")
        await self._close(interaction, moved, text, flagged=True)
        await interaction.edit_original_response(content=answer.text(locale_of(interaction)))

    async def _close(
        self,
        interaction: discord.Interaction[discord.Client],
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


def _number(value: int) -> Callable[[str | None], str]:
    """A count written the reader's way, once their language is known."""
    return lambda locale: number(locale, value)


def _units(value: int) -> Callable[[str | None], str]:
    """An amount of quota units, in the reader's language."""
    return lambda locale: cost_text(value, locale)


def _not_pending(state: JobState | None) -> Wording:
    """The request was decided, cancelled or finished meanwhile (by another moderator, say)."""
    if state is None:
        return later("reply", "This request is no longer pending.")
    return later(
        "reply",
        "This request is no longer pending ({state}).",
        state=lambda locale: state_word(locale, state),
    )


async def _tell(interaction: discord.Interaction[discord.Client], message: str) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(message, ephemeral=True)
    else:
        await interaction.response.send_message(message, ephemeral=True)


__all__ = ["JobState", "Review"]
