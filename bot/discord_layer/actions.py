"""What members do: start a job, cancel one, re-roll one. Commands and buttons call these;
they check input, call the runner, and format replies."""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import discord
from pydantic import ValidationError

from bot.core.audit import AuditAction, audit
from bot.core.guild.policy import Refusal, Requester, admit, check_options
from bot.core.images import CheckedImage, ImageRejected, check_size, inspect_image
from bot.core.jobs import store
from bot.core.jobs.models import Job
from bot.core.jobs.runner import CancelResult
from bot.core.quotas import BudgetExhausted, QuotaExceeded, TooManyInFlight, Usage
from bot.discord_layer import render
from bot.discord_layer.errors import BadRequest, ChannelError, QuotaError, UserFacingError
from bot.discord_layer.render import safe_text
from bot.discord_layer.views import status_view
from providers import (
    MAX_SEED,
    Mode,
    Provider,
    ProviderName,
    UnsafeURL,
    UnsupportedOption,
    VideoRequest,
)
from providers.capabilities import Capabilities

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

log = logging.getLogger(__name__)

# Checked against the provider's rules before the real (re-hosted) URL exists.
_PLACEHOLDER_IMAGE_URL = "https://cdn.discordapp.com/placeholder.png"
# Read Message History: finding an already posted result after a restart, and fetching the
# status message again (a fresh image URL, a re-roll's image), both read the channel.
NEEDED_PERMISSIONS = (
    "view_channel",
    "send_messages",
    "embed_links",
    "attach_files",
    "read_message_history",
)


@dataclass(frozen=True, slots=True)
class JobSpec:
    mode: Mode
    prompt: str
    provider: ProviderName | None = None
    aspect_ratio: str | None = None
    duration: int | None = None
    resolution: str | None = None
    seed: int | None = None
    image: bytes | None = None
    parent_job_id: str | None = None


class Actions:
    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot

    # --- start ----------------------------------------------------------------------------

    async def submit(self, interaction: discord.Interaction[VideoBot], spec: JobSpec) -> Job:
        """Validate, reserve quota, post the public status message and start the job.
        The interaction must already be deferred (ephemerally)."""
        if not self.bot.runner.accepting:
            raise UserFacingError("I'm restarting right now; please try again in a minute.")
        rules = await self.bot.guild_rules(interaction.guild_id, interaction.user.id)
        try:
            admission = admit(
                config=rules.config,
                tiers=rules.tiers,
                block=rules.block,
                who=requester_of(interaction),
                base=self.bot.runner.config.quota,
                configured=self.bot.provider_order,
            )
        except Refusal as refusal:
            await self._refused(interaction, spec, refusal)
            raise BadRequest(refusal.render(safe_text)) from refusal
        name, provider = self._provider(spec.provider or admission.providers[0])
        seed = (
            spec.seed
            if spec.seed is not None and spec.seed >= 0
            else secrets.randbelow(MAX_SEED + 1)
        )
        request = self._request(spec, seed)
        try:
            options = provider.resolve(request)
        except UnsupportedOption as error:
            raise BadRequest(self._explain_unsupported(error, spec.mode, name)) from error
        except UnsafeURL as error:  # pragma: no cover - the placeholder is always acceptable
            raise BadRequest(error.detail) from error
        try:
            check_options(
                admission, provider=name, duration=options.duration, resolution=options.resolution
            )
            match = await asyncio.to_thread(rules.filter.check, request.prompt)
            if match is not None:
                raise Refusal(
                    "prompt",
                    "Your prompt contains something this server doesn't allow "
                    f"(“{safe_text(match.excerpt, 40)}”). Please rephrase it.",
                )
        except Refusal as refusal:
            await self._refused(interaction, spec, refusal, provider=name)
            raise BadRequest(refusal.render(safe_text)) from refusal
        self._check_channel(interaction)
        checked = await self._check_image(spec.image) if spec.image is not None else None

        policy = self.bot.runner.config.quota
        job = Job(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id or 0,
            user_id=interaction.user.id,
            mode=spec.mode.value,
            provider=name.value,
            prompt=request.prompt,
            aspect_ratio=options.aspect_ratio,
            duration=options.duration,
            resolution=options.resolution,
            seed=seed,
            cost=policy.cost(options.duration),
            upload_limit=interaction.filesize_limit,
            parent_job_id=spec.parent_job_id,
            channel_nsfw=_channel_nsfw(interaction),
        )
        try:
            job = await self.bot.runner.accept(
                job, policy=admission.policy, budget=admission.budget, hold=admission.review
            )
        except QuotaExceeded as error:
            raise QuotaError(
                quota_message(error.usage, need=error.cost, available_at=error.available_at)
            ) from error
        except BudgetExhausted as error:
            await self._refused(
                interaction,
                spec,
                Refusal("budget", f"server budget {error.used}/{error.budget}"),
                provider=name,
            )
            raise QuotaError(
                f"This server has used its daily video budget ({error.budget} units). "
                f"It resets <t:{int(error.resets_at)}:R>."
            ) from error
        except TooManyInFlight as error:
            raise QuotaError(
                f"You already have {error.usage.in_flight} videos in progress (the limit is "
                f"{error.usage.max_in_flight}). Wait for one to finish, or cancel one."
            ) from error

        image = (spec.image, f"input.{checked.extension}") if spec.image and checked else None
        if admission.review:
            # Nothing public before a moderator has seen it: the request, with its image, goes
            # to the review channel only; the status message is posted on approval.
            await self._send_to_review(interaction, job, rules.config.review_channel_id, image)
            return job
        try:
            status = await self._post_status(job, image)
            image_url = (
                status.attachments[0].url if image is not None and status.attachments else None
            )
            await self.bot.runner.set_fields(
                job.id, status_message_id=status.id, image_url=image_url
            )
            job.status_message_id, job.image_url = status.id, image_url
            self.bot.runner.launch(job.id)
        finally:
            self.bot.runner.setup_over(job.id)

        usage = await self.bot.usage(guild_id=job.guild_id, user_id=job.user_id)
        await interaction.edit_original_response(
            content=(
                f"Your video is on its way: {status.jump_url}\n"
                f"It uses {job.cost} of your quota; {usage.remaining} of {usage.limit} left."
            )
        )
        return job

    async def _send_to_review(
        self,
        interaction: discord.Interaction[VideoBot],
        job: Job,
        channel_id: int | None,
        image: tuple[bytes, str] | None,
    ) -> None:
        assert channel_id is not None  # noqa: S101 - admit() refuses review without a channel
        try:
            message_id = await self.bot.review.post_request(job, channel_id, image=image)
        except discord.HTTPException as error:
            await self.bot.runner.reject(
                job.id, moderator_id=None, reason="the review channel is not available"
            )
            raise ChannelError(
                "This channel needs a moderator's approval, but I can't post in the review "
                "channel. Nothing was charged; please tell an admin."
            ) from error
        await self.bot.runner.set_fields(job.id, review_message_id=message_id)
        await interaction.edit_original_response(
            content=(
                "Your request is waiting for a moderator's approval; only the moderators can "
                "see it. Nothing is charged until it is approved. When it is, I'll post it in "
                "this channel and mention you; if it isn't, I'll tell you."
            )
        )

    async def _refused(
        self,
        interaction: discord.Interaction[VideoBot],
        spec: JobSpec,
        refusal: Refusal,
        *,
        provider: ProviderName | None = None,
    ) -> None:
        """Every refusal by a server rule is audited; it costs nothing."""
        now = time.time()
        options = f"{spec.mode.value} · {spec.duration or '-'} s · {spec.resolution or '-'}"
        chosen = provider or spec.provider
        await self.bot.db.run(
            lambda s: audit(
                session=s,
                guild_id=interaction.guild_id,
                action=AuditAction.REFUSED,
                now=now,
                user_id=interaction.user.id,
                prompt=spec.prompt,
                options=options,
                provider=chosen.value if chosen else None,
                reason=f"{refusal.rule}: {refusal.render(str)}",
            )
        )

    # --- delete ---------------------------------------------------------------------------

    async def delete(self, interaction: discord.Interaction[VideoBot], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.bot.job(job_id)
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
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            await channel.get_partial_message(job.result_message_id).delete()
        except discord.NotFound:
            pass
        except discord.HTTPException as error:
            raise UserFacingError("Discord wouldn't let me delete that message.") from error
        now = time.time()
        actor = interaction.user.id
        await self.bot.db.run(lambda s: _mark_deleted(s, job=job, actor_id=actor, now=now))
        await interaction.edit_original_response(content="Deleted.")

    def _provider(self, wanted: ProviderName | None) -> tuple[ProviderName, Provider]:
        order = self.bot.provider_order
        if not order:
            raise UserFacingError("No video provider is set up on this bot yet; tell an admin.")
        name = wanted or order[0]
        provider = self.bot.providers.get(name)
        if provider is None:
            available = ", ".join(n.label for n in order)
            raise BadRequest(f"{name.label} isn't set up on this bot; choose {available}.")
        return name, provider

    def _request(self, spec: JobSpec, seed: int) -> VideoRequest:
        try:
            return VideoRequest(
                mode=spec.mode,
                prompt=spec.prompt,
                aspect_ratio=spec.aspect_ratio,
                duration=spec.duration,
                resolution=spec.resolution,
                seed=seed,
                image_url=_PLACEHOLDER_IMAGE_URL if spec.mode is Mode.IMAGE else None,
            )
        except ValidationError as error:
            item = error.errors(include_input=False, include_url=False)[0]
            field = ".".join(str(p) for p in item["loc"]) or "request"
            message = str(item["msg"]).removeprefix("Value error, ")
            raise BadRequest(f"{field}: {message}.") from error

    def _explain_unsupported(
        self, error: UnsupportedOption, mode: Mode, chosen: ProviderName
    ) -> str:
        """The provider's refusal plus which other configured provider would accept it."""
        shown = {"duration": f"{error.value} s"}.get(error.option, str(error.value))
        others = [
            name.label
            for name, provider in self.bot.providers.items()
            if name is not chosen
            and _accepts(provider.capabilities(mode), error.option, error.value)
        ]
        text = error.detail
        if others:
            text += f"; choose {' or '.join(others)} for {shown}"
        return text + "."

    def _check_channel(self, interaction: discord.Interaction[VideoBot]) -> None:
        permissions = interaction.app_permissions
        needed: tuple[str, ...] = NEEDED_PERMISSIONS
        if isinstance(interaction.channel, discord.Thread):
            # Discord: "SEND_MESSAGES permission is not inherited; users must have
            # SEND_MESSAGES_IN_THREADS to send a message in a thread" (topics/permissions).
            needed = tuple(
                "send_messages_in_threads" if p == "send_messages" else p for p in needed
            )
        missing = [p for p in needed if not getattr(permissions, p)]
        if missing:
            names = ", ".join(p.replace("_", " ").title() for p in missing)
            raise ChannelError(
                f"I can't post videos in this channel: I'm missing {names}. "
                "Ask an admin to grant them, or use another channel."
            )

    async def _check_image(self, data: bytes) -> CheckedImage:
        try:
            return await asyncio.to_thread(inspect_image, data)
        except ImageRejected as error:
            raise BadRequest(error.message) from error

    async def post_status(
        self, job: Job, image: tuple[bytes, str] | None, *, content: str | None = None
    ) -> discord.Message:
        """Post a job's public status message, re-hosting its image (slash-command attachments
        are ephemeral). `content` may mention the requester, and no one else."""
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        kwargs: dict[str, Any] = {}
        if image is not None:
            kwargs["file"] = discord.File(io.BytesIO(image[0]), filename=image[1])
        async with self.bot.presenter.posting(job.channel_id):  # ahead of status edits
            return await channel.send(
                content,
                embed=render.status_embed(job),
                view=status_view(job.id),
                allowed_mentions=render.requester_only(job.user_id),
                **kwargs,
            )

    async def _post_status(self, job: Job, image: tuple[bytes, str] | None) -> discord.Message:
        try:
            return await self.post_status(job, image)
        except discord.Forbidden as error:
            await self.bot.runner.abandon(job.id, "the bot may not post in this channel")
            raise ChannelError(
                "I can't post in this channel: I need the View Channel, Send Messages, Embed "
                "Links and Attach Files permissions here. Nothing was charged."
            ) from error
        except discord.HTTPException as error:
            await self.bot.runner.abandon(job.id, "Discord refused the status message")
            raise UserFacingError(
                f"Discord refused my status message ({error.status}); nothing was charged. "
                "Please try again."
            ) from error

    # --- cancel ---------------------------------------------------------------------------

    async def cancel(self, interaction: discord.Interaction[VideoBot], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.bot.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest("I can't find that job here.")
        moderator = interaction.permissions.manage_messages
        result = await self.bot.runner.cancel(
            job_id, actor_id=interaction.user.id, moderator=moderator
        )
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

    async def reroll(self, interaction: discord.Interaction[VideoBot], job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self.bot.job(job_id)
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

    async def _original_image(self, job: Job) -> bytes:
        if job.status_message_id is None:
            raise BadRequest("The original image is gone, so this video can't be re-rolled.")
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
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


def requester_of(interaction: discord.Interaction[VideoBot]) -> Requester:
    member = interaction.user
    roles = frozenset(r.id for r in getattr(member, "roles", []))
    return Requester(
        user_id=member.id,
        role_ids=roles,
        channel_id=rules_channel_id(interaction),
        channel_nsfw=_channel_nsfw(interaction),
    )


def rules_channel_id(interaction: discord.Interaction[VideoBot]) -> int:
    """The channel whose rules apply: a thread's (or a forum post's) parent, else the channel
    itself. Discord gives a thread its own channel id and names its parent in `parent_id`."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return interaction.channel_id or 0


def _channel_nsfw(interaction: discord.Interaction[VideoBot]) -> bool:
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


def _accepts(capabilities: Capabilities, option: str, value: object) -> bool:
    match option:
        case "duration":
            return value in capabilities.durations
        case "resolution":
            return value in capabilities.resolutions
        case "aspect_ratio":
            return value in capabilities.aspect_ratios
        case _:
            return False


def quota_message(usage: Usage, *, need: int, available_at: float | None) -> str:
    text = f"You've used {usage.used} of your {usage.limit} video units for now"
    text += f" and this one needs {need}." if need > 1 else "."
    if available_at is not None:
        when = int(available_at)
        text += f" You can make it <t:{when}:R> (at <t:{when}:t>)."
    elif need > usage.limit:
        text += " That is more than your whole quota; try a 5-second clip."
    return text
