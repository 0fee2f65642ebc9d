"""The runner's view of Discord: status edits (coalesced per channel by
`bot.discord_layer.status_editor`), result posts, and finding a result that was already posted
before a restart. Everything goes through the bot's own channel endpoints, never an interaction
token, so jobs may outlive the token's 15 minutes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord

from bot.core.jobs import reasons
from bot.core.jobs.contracts import DeliveryFailed
from bot.core.jobs.fitting import FittedVideo
from bot.core.jobs.models import Job, JobState
from bot.core.lookups import Lookups
from bot.discord_layer import direct_messages as dm
from bot.discord_layer import message_image, render
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.rate_limits import is_rate_limited, patiently
from bot.discord_layer.result_notes import fitted_note
from bot.discord_layer.review_messages import ReviewMessages
from bot.discord_layer.status_editor import EditOutcome, StatusEditors
from bot.discord_layer.views import held_view, result_view, status_view
from providers import Downloaded

log = logging.getLogger(__name__)

DELIVERY_RETRIES = (5.0, 15.0, 45.0)


class DiscordPresenter:
    def __init__(
        self,
        *,
        channels: ChannelGetter,
        lookups: Lookups,
        review: ReviewMessages,
        edit_interval: float,
    ) -> None:
        self.channels = channels
        self.lookups = lookups
        self.review = review
        self.edit_interval = edit_interval
        self.editors = StatusEditors(self._edit, signature=_signature, edit_interval=edit_interval)
        self.direct = dm.DirectDelivery(channels)

    async def close(self) -> None:
        await self.editors.close()

    def posting(self, channel_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Wrap a post in a channel: its status edits step aside until the post is done
        (posts and edits share the channel's rate limit)."""
        return self.editors.posting(channel_id)

    # --- status ---------------------------------------------------------------------------

    async def show_status(self, job: Job, *, waiting_position: int | None = None) -> bool:
        """Non-final states are recorded for the channel's editor (never waits on Discord);
        a final state goes first and is waited for: True once the message shows it."""
        if job.state is JobState.REJECTED and job.moderator_id is None:
            # The review deadline passed; a held request has no status message to edit.
            try:
                await self.review.expire(job)
            except discord.HTTPException as error:
                log.warning("job %s: review message not updated (%s)", job.id, error.status)
        if job.status_message_id is None:
            return True
        if not job.state.is_final:
            self.editors.record(job, waiting_position)
            return True
        return await self.editors.finish(job, waiting_position)

    async def _edit(self, job: Job, waiting_position: int | None) -> EditOutcome:
        assert job.status_message_id is not None  # noqa: S101
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        message = channel.get_partial_message(job.status_message_id)
        view = None if job.state.is_final else status_view(job.id, job.guild_locale)
        try:
            await message.edit(
                embed=render.status_embed(job, waiting_position=waiting_position),
                view=view,
                allowed_mentions=render.NO_PINGS,
            )
        except discord.NotFound:
            log.info("job %s: the status message was deleted", job.id)
            return EditOutcome.GONE
        except discord.DiscordServerError as error:
            log.warning("job %s: status edit failed (%s)", job.id, error.status)
            return EditOutcome.TRANSIENT
        except discord.HTTPException as error:
            if is_rate_limited(error):  # past discord.py's own retries: later, not never
                log.info("job %s: status edit rate limited; trying again later", job.id)
                return EditOutcome.TRANSIENT
            log.warning("job %s: status edit refused (%s %s)", job.id, error.status, error.code)
            return EditOutcome.REFUSED
        except (aiohttp.ClientError, OSError) as error:
            log.warning("job %s: status edit failed (%s)", job.id, error)
            return EditOutcome.TRANSIENT
        return EditOutcome.SHOWN

    # --- results --------------------------------------------------------------------------

    async def deliver(self, job: Job, video: Downloaded | None) -> int:
        for attempt, pause in enumerate((*DELIVERY_RETRIES, None)):
            try:
                async with self.posting(job.channel_id):
                    return await patiently(
                        lambda: self._post(job, video), what=f"job {job.id}: the result"
                    )
            except discord.Forbidden as error:
                log.warning("job %s: cannot post the result (%s)", job.id, error.code)
                raise DeliveryFailed(reasons.stored(reasons.MISSING_PERMISSIONS)) from error
            except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
                if pause is None:
                    raise DeliveryFailed(reasons.stored(reasons.DISCORD_REFUSED)) from error
                log.warning(
                    "job %s: posting the result failed (attempt %d): %s", job.id, attempt + 1, error
                )
                await asyncio.sleep(pause)
                found = await self.find_delivery(job)
                if found is not None:
                    return found
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, job: Job, video: Downloaded | None) -> int:
        note = ""
        if job.deliver_dm:
            try:
                # No buttons in a DM: Re-roll and Delete act in the job's channel.
                private = await self.direct.channel(job.user_id)
                return await self._post_in(private, job, video, note="", view=None)
            except (discord.Forbidden, discord.NotFound) as error:
                # 50007 when the member closed their DMs; any other refusal of the DM (the
                # member is gone) is treated alike: the channel still gets the video.
                log.info(
                    "job %s: the direct message was refused (%s); posting in the channel",
                    job.id,
                    error.code,
                )
                note = dm.closed_note(job)
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        return await self._post_in(
            channel, job, video, note=note, view=result_view(job.id, job.guild_locale)
        )

    async def _post_in(
        self,
        channel: discord.abc.Messageable,
        job: Job,
        video: Downloaded | None,
        *,
        note: str,
        view: discord.ui.View | None,
    ) -> int:
        embed = render.result_embed(job)
        mentions = render.requester_only(job.user_id)
        # discord.py sends every nonce with enforce_nonce; ours is the same on every attempt.
        nonce = render.result_nonce(job)
        if video is not None and video.size <= job.upload_limit:
            file = discord.File(
                video.path, filename=f"reelbot-{job.id[:8]}.mp4", spoiler=_hide(job)
            )
            content = render.result_content(job)
            if isinstance(video, FittedVideo):  # re-encoded to fit: say so, link the original
                content += "\n" + fitted_note(job, link=_link(job))
            try:
                message = await channel.send(
                    dm.with_note(content, note),
                    embed=embed,
                    file=file,
                    **_with_view(view),
                    allowed_mentions=mentions,
                    nonce=nonce,
                )
                return message.id
            except discord.HTTPException as error:
                if error.status != 413 and error.code != 40005:
                    raise
                log.info("job %s: Discord refused the file as too large; posting a link", job.id)
            finally:
                file.close()
        assert job.video_url is not None  # noqa: S101
        link = f"||{job.video_url}||" if _hide(job) else job.video_url
        message = await channel.send(
            dm.with_note(render.result_content(job, link=link), note),
            embed=embed,
            **_with_view(view),
            allowed_mentions=mentions,
            nonce=nonce,
        )
        return message.id

    async def hold_for_review(self, job: Job, video: Downloaded | None) -> int:
        config = await self.lookups.guild_config(job.guild_id)
        if config.review_channel_id is None:
            raise DeliveryFailed(reasons.stored(reasons.NO_REVIEW_CHANNEL))
        channel = self.channels.get(config.review_channel_id, guild_id=job.guild_id)
        embed = render.review_embed(job, flagged=True)
        try:
            return await patiently(
                lambda: self._post_held(channel, job, video, embed),
                what=f"job {job.id}: the flagged video",
            )
        except discord.HTTPException as error:
            raise DeliveryFailed(reasons.stored(reasons.REVIEW_CHANNEL_REFUSED)) from error

    async def _post_held(
        self,
        channel: discord.abc.Messageable,
        job: Job,
        video: Downloaded | None,
        embed: discord.Embed,
    ) -> int:
        if video is not None and video.size <= job.upload_limit:
            file = discord.File(video.path, filename=f"flagged-{job.id[:8]}.mp4", spoiler=True)
            try:
                message = await channel.send(
                    embed=embed,
                    file=file,
                    view=held_view(job.id, job.guild_locale),
                    allowed_mentions=render.NO_PINGS,
                )
            finally:
                file.close()
        else:
            message = await channel.send(
                f"||{job.video_url}||",
                embed=embed,
                view=held_view(job.id, job.guild_locale),
                allowed_mentions=render.NO_PINGS,
            )
        return message.id

    async def fresh_image_url(self, job: Job) -> str | None:
        """Discord's attachment URLs are signed and expire (`ex`, about 24 h): fetch the
        status message that carries the image again, which signs its URLs anew; without Read
        Message History there, ask Discord to refresh the stored URL instead."""
        if job.status_message_id is None:
            return None
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        try:
            message = await channel.fetch_message(job.status_message_id)
        except discord.Forbidden:
            return await self._refreshed(job)
        except discord.HTTPException as error:
            log.warning("job %s: the image's message is gone (%s)", job.id, error.status)
            return None
        return message_image.image_url(message)

    async def _refreshed(self, job: Job) -> str | None:
        if job.image_url is None:
            return None
        route = discord.http.Route("POST", "/attachments/refresh-urls")
        try:
            answer = await self.channels.client.http.request(
                route, json={"attachment_urls": [job.image_url]}
            )
        except discord.HTTPException as error:
            log.warning("job %s: could not refresh the image URL (%s)", job.id, error.status)
            return None
        for entry in answer.get("refreshed_urls", []):
            if entry.get("original") == job.image_url and entry.get("refreshed"):
                return str(entry["refreshed"])
        return None

    async def find_delivery(self, job: Job) -> int | None:
        if job.deliver_dm:
            in_dm = await self.direct.find(job)
            if in_dm is not None:
                return in_dm
        found = await self._find(job, f"{render.REROLL_PREFIX}{job.id}", job.updated_at)
        return None if found is None else found.id

    async def find_status(self, job: Job) -> tuple[int, str | None] | None:
        found = await self._find(job, f"{render.CANCEL_PREFIX}{job.id}", job.created_at)
        if found is None:
            return None
        return found.id, message_image.image_url(found)

    async def _find(self, job: Job, marker: str, around: float) -> discord.Message | None:
        """The bot's own message in the job's channel carrying a button `marker`."""
        bot_user = self.channels.client.user
        if bot_user is None:
            return None
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        since = datetime.fromtimestamp(around - 120, tz=UTC)
        with contextlib.suppress(discord.HTTPException):
            async for message in channel.history(limit=200, after=since, oldest_first=True):
                if message.author.id != bot_user.id:
                    continue
                for row in message.components:
                    for child in getattr(row, "children", []):
                        if getattr(child, "custom_id", None) == marker:
                            return message
        return None


def _signature(job: Job, waiting_position: int | None) -> object:
    """What a status message shows: an edit that would not change it is not sent. Kept for
    every job in flight, so a digest of the embed (16 bytes) rather than its text (about 1 KiB).
    """
    embed = render.status_embed(job, waiting_position=waiting_position).to_dict()
    digest = hashlib.blake2b(repr(sorted(embed.items())).encode(), digest_size=16).digest()
    return (digest, job.state.is_final)


def _link(job: Job) -> str:
    """The provider's full-quality file, behind a spoiler where the video is."""
    assert job.video_url is not None  # noqa: S101 - stored before DOWNLOADING
    return f"||{job.video_url}||" if _hide(job) else job.video_url


def _hide(job: Job) -> bool:
    """A flagged video goes behind a spoiler, except in an age-restricted channel."""
    return job.nsfw and not job.channel_nsfw


def _with_view(view: discord.ui.View | None) -> dict[str, Any]:
    """The `view` argument of a post, left out for a post without buttons."""
    return {} if view is None else {"view": view}
