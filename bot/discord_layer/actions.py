"""What members do: start a job, cancel one, re-roll one. Commands and buttons call these;
they check input, call the runner, and format replies."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import Any, assert_never

import discord

from bot.core.audit import AuditAction, audit
from bot.core.db import Database
from bot.core.errors import ChannelUnusable, Refused
from bot.core.guild.policy import Requester
from bot.core.i18n import later, number, translate
from bot.core.images import ImageRejected
from bot.core.jobs import reasons, store
from bot.core.jobs.contracts import CancelResult
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.runner import JobRunner
from bot.core.lookups import Lookups
from bot.core.preferences.resolve import PreferenceUnsupported
from bot.core.starting import JobSpec, StartRequest, start_job
from bot.discord_layer import message_image, render
from bot.discord_layer.acks import acks_of
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.edit import EditModal
from bot.discord_layer.errors import (
    BadRequest,
    ChannelError,
    UserFacingError,
    locale_of,
    member_text,
)
from bot.discord_layer.preference_texts import unsupported_text
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

#: How long a Delete click waits for the result it sits on to be recorded (a result is posted
#: first and its message id written just after), and how often it looks.
RECORD_WAIT_SECONDS = 20.0
RECORD_POLL_SECONDS = 0.25
#: The status message could not be posted, but the job was no longer this process's to call
#: off (another process had taken it over): it goes on, and a failure refunds it.
UNDER_WAY = later(
    "reply",
    "I couldn't post this request's status message here, but the request is already under way "
    "and goes on. If its video can't be posted either, it fails and your quota is given back.",
)
GONE = later("reply", "The original image is gone, so this video can't be re-rolled.")


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
        acks = acks_of(interaction.client)
        if acks is not None:  # a burst of commands is acknowledged before it is worked on
            await acks.after_the_others(interaction.id)
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
        except PreferenceUnsupported as refusal:
            raise BadRequest(unsupported_text(refusal, interaction.locale.value)) from refusal
        except Refused as refusal:
            raise UserFacingError(member_text(refusal, locale_of(interaction))) from refusal
        job, image = started.job, started.image
        if started.review_channel_id is not None:
            # Nothing public before a moderator has seen it: the request, with its image, goes
            # to the review channel only; the status message is posted on approval.
            await self._send_to_review(interaction, job, started.review_channel_id, image)
            return job
        locale = locale_of(interaction)
        try:
            status = await self._post_status(job, image)
            image_url = message_image.image_url(status) if image is not None else None
            await self.runner.set_fields(job.id, status_message_id=status.id, image_url=image_url)
            job.status_message_id, job.image_url = status.id, image_url
            self.runner.launch(job.id)
        finally:
            self.runner.setup_over(job.id)

        usage = await self.lookups.usage(guild_id=job.guild_id, user_id=job.user_id)
        await interaction.edit_original_response(
            content=translate(
                locale,
                "Your video is on its way: {link}\n"
                "It uses {cost} of your quota; {remaining} of {limit} left.",
                context="reply",
                link=status.jump_url,
                cost=number(locale, job.cost),
                remaining=number(locale, usage.remaining),
                limit=number(locale, usage.limit),
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
                job.id, moderator_id=None, reason=reasons.stored(reasons.REVIEW_CHANNEL_UNAVAILABLE)
            )
            raise ChannelError(
                later(
                    "reply",
                    "This channel needs a moderator's approval, but I can't post in the review "
                    "channel. Nothing was charged; please tell an admin.",
                )
            ) from error
        await self.runner.set_fields(
            job.id, review_message_id=message_id, review_channel_id=channel_id
        )
        await interaction.edit_original_response(
            content=translate(
                locale_of(interaction),
                "Your request is waiting for a moderator's approval; only the moderators can "
                "see it. Nothing is charged until it is approved. When it is, I'll post it in "
                "this channel and mention you; if it isn't, I'll tell you.",
                context="reply",
            )
        )

    # --- delete ---------------------------------------------------------------------------

    async def delete(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest(later("reply", "I can't find that video here."))
        if job.user_id != interaction.user.id and not interaction.permissions.manage_messages:
            raise BadRequest(
                later(
                    "reply",
                    "Only the member who asked for this video, or a moderator, can delete it.",
                )
            )
        job = await self._recorded(job)
        if job.result_message_id is None and job.state is JobState.DELIVERING:
            raise BadRequest(
                later("message", "This video is still being posted; try again in a moment.")
            )
        if job.result_message_id is None or (
            interaction.message is not None and interaction.message.id != job.result_message_id
        ):
            # The button must sit on the job's own result: a forged custom_id on someone
            # else's message deletes nothing.
            raise BadRequest(later("reply", "That button doesn't belong to this message."))
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        try:
            await channel.get_partial_message(job.result_message_id).delete()
        except discord.NotFound:
            pass
        except discord.HTTPException as error:
            raise UserFacingError(
                later("reply", "Discord wouldn't let me delete that message.")
            ) from error
        now = time.time()
        actor = interaction.user.id
        await self.db.run(lambda s: _mark_deleted(s, job=job, actor_id=actor, now=now))
        await interaction.edit_original_response(
            content=translate(locale_of(interaction), "Deleted.", context="reply")
        )

    async def _recorded(self, job: Job) -> Job:
        """`job` once its result's message is recorded. The result is posted first and
        recorded just after, so a quick click can land in between: wait for the record rather
        than call the member's own button a stranger's."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECORD_WAIT_SECONDS
        while job.result_message_id is None and job.state is JobState.DELIVERING:
            if loop.time() >= deadline:
                break
            await asyncio.sleep(RECORD_POLL_SECONDS)
            job = await self.lookups.job(job.id) or job
        return job

    def _check_channel(self, interaction: discord.Interaction[discord.Client]) -> None:
        missing = missing_permissions(interaction)
        if missing:
            raise UserFacingError(member_text(ChannelUnusable(missing), locale_of(interaction)))

    async def _post_status(self, job: Job, image: tuple[bytes, str] | None) -> discord.Message:
        try:
            return await self.status.post(job, image)
        except discord.Forbidden as error:
            if await self.runner.abandon(job, reasons.stored(reasons.STATUS_FORBIDDEN)) is None:
                raise UserFacingError(UNDER_WAY) from error
            raise ChannelError(
                later(
                    "reply",
                    "I can't post in this channel: I need the View Channel, Send Messages, "
                    "Embed Links and Attach Files permissions here. Nothing was charged.",
                )
            ) from error
        except discord.HTTPException as error:
            if await self.runner.abandon(job, reasons.stored(reasons.STATUS_REFUSED)) is None:
                raise UserFacingError(UNDER_WAY) from error
            raise UserFacingError(
                later(
                    "reply",
                    "Discord refused my status message ({status}); nothing was charged. "
                    "Please try again.",
                    status=error.status,
                )
            ) from error

    # --- cancel ---------------------------------------------------------------------------

    async def cancel(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest(later("reply", "I can't find that job here."))
        moderator = interaction.permissions.manage_messages
        result = await self.runner.cancel(job_id, actor_id=interaction.user.id, moderator=moderator)
        message = cancel_text(result, render.provider_label(job), locale_of(interaction))
        await interaction.followup.send(message, ephemeral=True)

    # --- re-roll --------------------------------------------------------------------------

    async def reroll(self, interaction: discord.Interaction[discord.Client], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest(later("reply", "I can't find that job here."))
        if job.prompt is None:
            raise BadRequest(
                later("reply", "This video's prompt was erased, so it can't be re-rolled.")
            )
        await self._again(interaction, job, prompt=job.prompt, seed=None)

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
        await self._again(interaction, job, prompt=prompt, seed=seed)

    async def _again(
        self,
        interaction: discord.Interaction[discord.Client],
        job: Job,
        *,
        prompt: str,
        seed: int | None,
    ) -> None:
        """A new job with `job`'s options (and image) and the given prompt and seed (None: a
        new one), started like a command."""
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
            # Reading the original image needs Read Message History: say so, not "gone".
            self._check_channel(interaction)
            spec = replace(spec, image=await self._original_image(job))
        await self.submit(interaction, spec)

    async def _original_image(self, job: Job) -> bytes:
        if job.status_message_id is None:
            raise BadRequest(GONE)
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        try:
            message = await channel.fetch_message(job.status_message_id)
            data, _ = await message_image.read_image(message, self.channels.client)
            return data
        except (discord.HTTPException, LookupError) as error:
            raise BadRequest(GONE) from error
        except ImageRejected as error:
            raise BadRequest(error.wording) from error


def cancel_text(result: CancelResult, label: str, locale: str | None) -> str:
    """The answer to a Cancel button, in the member's language."""
    match result:
        case CancelResult.CANCELLED:
            return translate(locale, "Cancelled. The quota was given back.", context="reply")
        case CancelResult.NOT_ALLOWED:
            return translate(
                locale,
                "Only the member who asked for this video, or a moderator, can cancel it.",
                context="reply",
            )
        case CancelResult.FINISHED:
            return translate(locale, "This job has already finished.", context="reply")
        case CancelResult.NOT_CANCELLABLE:
            return translate(
                locale,
                "{provider} is already generating this video and can't stop it now; "
                "it will be posted when it's done.",
                context="reply",
                provider=label,
            )
        case CancelResult.UNSUPPORTED:
            return translate(
                locale,
                "{provider} can't cancel a job once it has been sent; "
                "the video will be posted when it's done.",
                context="reply",
                provider=label,
            )
        case CancelResult.TOO_LATE:
            return translate(
                locale, "The video is already finished and being posted.", context="reply"
            )
        case CancelResult.BUSY:
            return translate(
                locale,
                "The job is being sent to the provider right now; try again in a few seconds.",
                context="reply",
            )
        case CancelResult.NOT_FOUND:
            return translate(locale, "I can't find that job here.", context="reply")
        case _:
            assert_never(result)


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
