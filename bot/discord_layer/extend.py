"""Extend: the button on a delivered video opens a modal pre-filled with its prompt; the
submitted prompt starts an image-to-video job from the last frame of the delivered file,
through the same checks and charges as any job (`Actions.submit`). The chain rules are the
core's (`bot.core.extend`); this file speaks to Discord."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import discord

from bot.core.errors import ChannelUnusable
from bot.core.extend import Blocked, ExtensionPlan, frame_for_provider, plan_extension
from bot.core.i18n import translate
from bot.core.jobs.models import Job
from bot.core.lookups import Lookups
from bot.core.starting import JobSpec
from bot.core.video import VideoError, VideoTools
from bot.discord_layer.actions import Actions, missing_permissions
from bot.discord_layer.chain_posts import ChainPosts
from bot.discord_layer.errors import BadRequest, UserFacingError, member_text, report
from providers import Mode, Provider, ProviderName

log = logging.getLogger(__name__)

Interaction = discord.Interaction[discord.Client]

PROMPT_INPUT_ID = "reelbot-extend-prompt"
PROMPT_MAX = 800  # the providers' prompt limit (Discord allows 4000 in a text input)
MODAL_TIMEOUT = 900.0


class ExtendModal(discord.ui.Modal):
    """Title and label: at most 45 characters each (Discord, "Modal" and "Text Input")."""

    def __init__(self, extender: Extender, *, job_id: str, prompt: str, locale: str) -> None:
        super().__init__(
            title=translate(locale, "Extend this video", context="message"),
            timeout=MODAL_TIMEOUT,
            custom_id=f"reelbot-extend-modal-{job_id}",
        )
        self.extender = extender
        self.job_id = job_id
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=translate(locale, "Prompt for the next clip", context="message"),
            custom_id=PROMPT_INPUT_ID,
            style=discord.TextStyle.paragraph,
            default=prompt[:PROMPT_MAX],
            max_length=PROMPT_MAX,
            required=True,
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: Interaction) -> None:
        try:
            await self.extender.submit(interaction, self.job_id, str(self.prompt.value or ""))
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class Extender:
    def __init__(
        self,
        *,
        actions: Actions,
        lookups: Lookups,
        providers: dict[ProviderName, Provider],
        provider_order: Sequence[ProviderName],
        tools: VideoTools,
        posts: ChainPosts,
        max_seconds: float,
    ) -> None:
        self.actions = actions
        self.lookups = lookups
        self.providers = providers
        self.provider_order = list(provider_order)
        self.tools = tools
        self.posts = posts
        self.max_seconds = max_seconds

    async def close(self) -> None:
        """Stop the video work (the last frame, joins) and wait for its thread."""
        await self.tools.aclose()

    async def open(self, interaction: Interaction, job_id: str) -> None:
        """The Extend button: the modal, or why this video cannot be extended."""
        locale = interaction.locale.value
        parent = await self._parent(interaction, job_id)
        self._plan(parent, locale)
        assert parent.prompt is not None  # noqa: S101 - checked by the plan
        modal = ExtendModal(self, job_id=parent.id, prompt=parent.prompt, locale=locale)
        await interaction.response.send_modal(modal)

    async def submit(self, interaction: Interaction, job_id: str, prompt: str) -> Job:
        """The modal's prompt: an image-to-video job from the delivered file's last frame."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = interaction.locale.value
        prompt = prompt.strip()
        if not prompt:
            raise BadRequest(
                translate(locale, "Please give a prompt for the next clip.", context="message")
            )
        parent = await self._parent(interaction, job_id)
        plan = self._plan(parent, locale)  # again: the chain may have grown meanwhile
        missing = missing_permissions(interaction)  # reading the file needs the history
        if missing:
            raise UserFacingError(member_text(ChannelUnusable(missing)))
        image = await self._last_frame(parent, locale)
        spec = JobSpec(
            mode=Mode.IMAGE,
            prompt=prompt,
            provider=plan.provider,
            duration=plan.duration,
            resolution=plan.resolution,
            image=image,
            parent_job_id=parent.id,
            chain=plan.link,
        )
        return await self.actions.submit(interaction, spec)

    async def _parent(self, interaction: Interaction, job_id: str) -> Job:
        job = await self.lookups.job(job_id)
        if job is None or job.guild_id != interaction.guild_id:
            raise BadRequest(
                translate(
                    interaction.locale.value, "I can't find that video here.", context="message"
                )
            )
        return job

    def _plan(self, parent: Job, locale: str) -> ExtensionPlan:
        plan = plan_extension(
            parent,
            providers=self.providers,
            order=self.provider_order,
            max_seconds=self.max_seconds,
        )
        if isinstance(plan, ExtensionPlan):
            return plan
        raise BadRequest(self._blocked_text(plan, parent, locale))

    def _blocked_text(self, blocked: Blocked, parent: Job, locale: str) -> str:
        match blocked:
            case Blocked.NOT_DELIVERED:
                return translate(locale, "Only a posted video can be extended.", context="message")
            case Blocked.STILL_POSTING:
                return translate(
                    locale,
                    "This video is still being posted; try again in a moment.",
                    context="message",
                )
            case Blocked.PROMPT_ERASED:
                return translate(
                    locale,
                    "This video's prompt was erased, so it can't be extended.",
                    context="message",
                )
            case Blocked.NO_IMAGE_PROVIDER:
                return translate(
                    locale,
                    "No provider on this bot makes videos from images, "
                    "so this video can't be extended.",
                    context="message",
                )
            case Blocked.TOO_LONG:
                seconds = parent.chain_seconds or parent.duration
                return translate(
                    locale,
                    "This video is already {seconds} s long, and another clip would pass the "
                    "limit of {limit} s, so it can't be extended further.",
                    context="message",
                    seconds=round(seconds),
                    limit=round(self.max_seconds),
                )

    async def _last_frame(self, parent: Job, locale: str) -> bytes:
        """The last picture of the file the bot posted, as a JPEG the providers accept."""
        assert parent.result_message_id is not None  # noqa: S101 - checked by the plan
        # Not named after a job (the upkeep sweep would take it for a dead job's download);
        # one a dead process left is swept once stale (`upkeep.EXTEND_PATTERN`).
        path = await self.posts.fetch_clip(
            parent, parent.result_message_id, prefix=f"extend-{parent.id[:12]}"
        )
        if path is None:
            raise BadRequest(
                translate(
                    locale,
                    "This video's file is gone (deleted, or its link expired), "
                    "so it can't be extended.",
                    context="message",
                )
            )
        try:
            picture = await self.tools.last_frame_png(path)
            return await asyncio.to_thread(frame_for_provider, picture)
        except VideoError as error:
            log.warning("job %s: no last frame: %s", parent.id, error)
            raise BadRequest(
                translate(
                    locale,
                    "This video's file can't be read, so it can't be extended.",
                    context="message",
                )
            ) from error
        finally:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(path.unlink, missing_ok=True)
