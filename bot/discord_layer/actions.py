"""What members do: start a job, cancel one, re-roll one. Commands and buttons call these;
they check input, call the runner, and format replies."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import discord

from bot.core.audit import AuditAction, audit
from bot.core.db import Database
from bot.core.errors import ChannelUnusable, Refused
from bot.core.guild.policy import Requester
from bot.core.i18n import translate
from bot.core.images import ImageRejected, check_size
from bot.core.jobs import store
from bot.core.jobs.contracts import CancelResult
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.runner import JobRunner
from bot.core.lookups import Lookups
from bot.core.starting import JobSpec, StartRequest, start_job
from bot.discord_layer import render
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.edit import EditModal
from bot.discord_layer.errors import BadRequest, ChannelError, UserFacingError, member_text
from bot.discord_layer.review_messages import ReviewMessages
from bot.discord_layer.status_post import StatusPoster
from providers import Mode, Provider, ProviderName

log = logging.getLogger(__name__)

# Read Message History: finding an already posted result after a restart, and fetching the
# status message again (a fresh image URL, a re-roll's image), both read the channel.
NEEDED_PERMISSIONS = (
    "view_channel",
    "send_messages",
    "embed_links",
    "attach_files",
    "read_message_history",
)


class Actions:
    def __init__(
        self,
        *,
        runner: JobRunner,
        db: Database,
        lookups: Lookups,
        providers: dict[ProviderName, Provider],
        provider_order: list[ProviderName],
        status: StatusPoster,
        review: ReviewMessages,
        channels: ChannelGetter,
    ) -> None:
        self.runner = runner
        self.db = db
        self.lookups = lookups
        self.providers = providers
        self.provider_order = provider_order
        self.status = status
        self.review = review
        self.channels = channels

    # --- start ----------------------------------------------------------------------------

    async def submit(self, interaction: discord.Interaction[discord.Client], spec: JobSpec) -> Job:
        """Validate, reserve quota, post the public status message and start the job.
        The interaction must already be deferred (ephemerally)."""
        guild_locale = interaction.guild_locale  # None outside a server
        request = StartRequest(
            spec=spec,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id or 0,
            requester=requester_of(interaction),
            upload_limit=interaction.filesize_limit,
            interaction_id=interaction.id,
            missing_permissions=missing_permissions(interaction),
            member_locale=interaction.locale.value,
            guild_locale=None if guild_locale is None else guild_locale.value,
        )
        try:
            started = await start_job(
                request,
                db=self.db,
                runner=self.runner,
                providers=self.providers,
                order=self.provider_order,
            )
        except Refused as refusal:
            raise UserFacingError(member_text(refusal)) from refusal
        job, image = started.job, started.image
        if started.review_channel_id is not None:
            # Nothing public before a moderator has seen it: the request, with its image, goes
            # to the review channel only; the status message is posted on approval.
            await self._send_to_review(interaction, job, started.review_channel_id, image)
            return job
        try:
            status = await self._post_status(job, image)
            image_url = (
                status.attachments[0].url if image is not None and status.attachments else None
            )
            await self.runner.set_fields(job.id, status_message_id=status.id, image_url=image_url)
            job.status_message_id, job.image_url = status.id, image_url
            self.runner.launch(job.id)
        finally:
            self.runner.setup_over(job.id)

        usage = await self.lookups.usage(guild_id=job.guild_id, user_id=job.user_id)
        await interaction.edit_original_response(
            content=(
                f"Your video is on its way: {status.jump_url}\n"
                f"It uses {job.cost} of your quota; {usage.remaining} of {usage.limit} left."
            )
        )
        return job

    async def _send_to_review(
        self,
        interaction: discord.Interaction[discord.Client],
        job: Job,
        channel_id: int,
        image: tuple[bytes, str] | None,
    ) -> None:
        try:
            message_id = await self.review.post_request(job, channel_id, image=image)
        except discord.HTTPException as error:
            await self.runner.reject(
                job.id, moderator_id=None, reason="the review channel is not available"
            )
            raise ChannelError(
                "This channel needs a moderator's approval, but I can't post in the review "
                "channel. Nothing was charged; please tell an admin."
            ) from error
        await self.runner.set_fields(
            job.id, review_message_id=message_id, review_channel_id=channel_id
        )
        await interaction.edit_original_response(
            content=(
                "Your request is waiting for a moderator's approval; only the moderators can "
                "see it. Nothing is charged until it is approved. When it is, I'll post it in "
                "this channel and mention you; if it isn't, I'll tell you."
            )
        )

    # --- delete ---------------------------------------------------------------------------

    async def delete(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest("I can't find that video here.")
        if job.user_id != interaction.user.id and not interaction.permissions.manage_messages:
            raise BadRequest(
                "Only the member who asked for this video, or a moderator, can delete it."
            )
        if job.result_message_id is None or (
            interaction.message is not None and interaction.message.id != job.result_message_id
        ):
            # The button must sit on the job's own result: a forged custom_id on someone
            # else's message deletes nothing.
            raise BadRequest("That button doesn't belong to this message.")
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        try:
            await channel.get_partial_message(job.result_message_id).delete()
        except discord.NotFound:
            pass
        except discord.HTTPException as error:
            raise UserFacingError("Discord wouldn't let me delete that message.") from error
        now = time.time()
        actor = interaction.user.id
        await self.db.run(lambda s: _mark_deleted(s, job=job, actor_id=actor, now=now))
        await interaction.edit_original_response(content="Deleted.")

    def _check_channel(self, interaction: discord.Interaction[discord.Client]) -> None:
        missing = missing_permissions(interaction)
        if missing:
            raise UserFacingError(member_text(ChannelUnusable(missing)))

    async def _post_status(self, job: Job, image: tuple[bytes, str] | None) -> discord.Message:
        try:
            return await self.status.post(job, image)
        except discord.Forbidden as error:
            await self.runner.abandon(job.id, "the bot may not post in this channel")
            raise ChannelError(
                "I can't post in this channel: I need the View Channel, Send Messages, Embed "
                "Links and Attach Files permissions here. Nothing was charged."
            ) from error
        except discord.HTTPException as error:
            await self.runner.abandon(job.id, "Discord refused the status message")
            raise UserFacingError(
                f"Discord refused my status message ({error.status}); nothing was charged. "
                "Please try again."
            ) from error

    # --- cancel ---------------------------------------------------------------------------

    async def cancel(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest("I can't find that job here.")
        moderator = interaction.permissions.manage_messages
        result = await self.runner.cancel(job_id, actor_id=interaction.user.id, moderator=moderator)
        label = render.provider_label(job)
        message = {
            CancelResult.CANCELLED: "Cancelled. The quota was given back.",
            CancelResult.NOT_ALLOWED: (
                "Only the member who asked for this video, or a moderator, can cancel it."
            ),
            CancelResult.FINISHED: "This job has already finished.",
            CancelResult.NOT_CANCELLABLE: (
                f"{label} is already generating this video and can't stop it now; "
                "it will be posted when it's done."
            ),
            CancelResult.UNSUPPORTED: (
                f"{label} can't cancel a job once it has been sent; "
                "the video will be posted when it's done."
            ),
            CancelResult.TOO_LATE: "The video is already finished and being posted.",
            CancelResult.BUSY: (
                "The job is being sent to the provider right now; try again in a few seconds."
            ),
            CancelResult.NOT_FOUND: "I can't find that job here.",
        }[result]
        await interaction.followup.send(message, ephemeral=True)

    # --- re-roll --------------------------------------------------------------------------

    async def reroll(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest("I can't find that job here.")
        if job.prompt is None:
            raise BadRequest("This video's prompt was erased, so it can't be re-rolled.")
        spec = JobSpec(
            mode=Mode(job.mode),
            prompt=job.prompt,
            provider=ProviderName(job.provider),
            aspect_ratio=job.aspect_ratio,
            duration=job.duration,
            resolution=job.resolution,
            parent_job_id=job.id,
        )
        if spec.mode is Mode.IMAGE:
            # Reading the original image needs Read Message History: say so, not "gone".
            self._check_channel(interaction)
            spec = replace(spec, image=await self._original_image(job))
        await self.submit(interaction, spec)

    # --- edit -----------------------------------------------------------------------------

    async def open_edit(
        self, interaction: discord.Interaction[discord.Client], job_id: str
    ) -> None:
        """The Edit form, with the result's prompt and seed filled in."""
        locale = interaction.locale.value
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest(translate(locale, "I can't find that video here.", context="content"))
        posted = job.state in (JobState.DELIVERING, JobState.DELIVERED)
        if not posted or (
            job.result_message_id is not None  # stored just after the post: a quick click
            and interaction.message is not None
            and interaction.message.id != job.result_message_id
        ):
            # Only a posted result opens its form: a forged custom_id never shows the prompt
            # of a request still waiting for a moderator.
            raise BadRequest(
                translate(locale, "That button doesn't belong to this message.", context="content")
            )
        if job.prompt is None:
            raise BadRequest(
                translate(
                    locale,
                    "This video's prompt was erased, so it can't be edited.",
                    context="content",
                )
            )

        async def submit(
            answer: discord.Interaction[discord.Client], prompt: str, seed: int | None
        ) -> None:
            await self.edit(answer, job_id, prompt=prompt, seed=seed)

        await interaction.response.send_modal(EditModal(job, locale=locale, submit=submit))

    async def edit(
        self,
        interaction: discord.Interaction[discord.Client],
        job_id: str,
        *,
        prompt: str,
        seed: int | None,
    ) -> None:
        """A new job from the Edit form: the edited prompt and seed, the result's other
        options (and image), through the same checks as a command, charged to whoever
        submits."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest(
                translate(
                    interaction.locale.value, "I can't find that video here.", context="content"
                )
            )
        spec = JobSpec(
            mode=Mode(job.mode),
            prompt=prompt,
            provider=ProviderName(job.provider),
            aspect_ratio=job.aspect_ratio,
            duration=job.duration,
            resolution=job.resolution,
            seed=seed,
            parent_job_id=job.id,
        )
        if spec.mode is Mode.IMAGE:
            self._check_channel(interaction)
            spec = replace(spec, image=await self._original_image(job))
        await self.submit(interaction, spec)

    async def _original_image(self, job: Job) -> bytes:
        if job.status_message_id is None:
            raise BadRequest("The original image is gone, so this video can't be re-rolled.")
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        try:
            message = await channel.fetch_message(job.status_message_id)
            attachment = message.attachments[0]
            check_size(attachment.size)
            return await attachment.read()
        except (discord.HTTPException, IndexError) as error:
            raise BadRequest(
                "The original image is gone, so this video can't be re-rolled."
            ) from error
        except ImageRejected as error:
            raise BadRequest(error.message) from error


def missing_permissions(interaction: discord.Interaction[discord.Client]) -> tuple[str, ...]:
    """The permissions the bot needs in the channel and lacks there."""
    permissions = interaction.app_permissions
    needed: tuple[str, ...] = NEEDED_PERMISSIONS
    if isinstance(interaction.channel, discord.Thread):
        # Discord: "SEND_MESSAGES permission is not inherited; users must have
        # SEND_MESSAGES_IN_THREADS to send a message in a thread" (topics/permissions).
        needed = tuple("send_messages_in_threads" if p == "send_messages" else p for p in needed)
    return tuple(p for p in needed if not getattr(permissions, p))


def requester_of(interaction: discord.Interaction[discord.Client]) -> Requester:
    member = interaction.user
    roles = frozenset(r.id for r in getattr(member, "roles", []))
    return Requester(
        user_id=member.id,
        role_ids=roles,
        channel_id=rules_channel_id(interaction),
        channel_nsfw=_channel_nsfw(interaction),
    )


def rules_channel_id(interaction: discord.Interaction[discord.Client]) -> int:
    """The channel whose rules apply: a thread's (or a forum post's) parent, else the channel
    itself. Discord gives a thread its own channel id and names its parent in `parent_id`."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return interaction.channel_id or 0


def _channel_nsfw(interaction: discord.Interaction[discord.Client]) -> bool:
    channel = interaction.channel
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw()) if callable(is_nsfw) else False


def _mark_deleted(session: Any, *, job: Job, actor_id: int, now: float) -> None:
    store.update_fields(session=session, job_id=job.id, now=now, result_deleted=True)
    audit(
        session=session,
        guild_id=job.guild_id,
        action=AuditAction.DELETED,
        now=now,
        user_id=job.user_id,
        moderator_id=actor_id,
        job_id=job.id,
        prompt=job.prompt,
    )
