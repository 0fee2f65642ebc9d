"""The chat side of Extend's chains (`bot.core.extend.ChainPoster`): fetching a delivered clip
back from its message, and posting (or, after a restart, finding) a chain's joined video.

The clip is taken from the file the bot posted, re-downloaded from Discord, not kept on disk:
any process can do it after a restart, nothing has to be cleaned up later, and it is exactly
the file members saw. A result that went out as a link (too large to attach) is fetched from
the provider's URL instead, while the provider keeps it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import discord

from bot.core.i18n import ngettext
from bot.core.jobs import reasons
from bot.core.jobs.contracts import DeliveryFailed
from bot.core.jobs.models import Job
from bot.discord_layer import render
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.presenter import DiscordPresenter
from bot.discord_layer.rate_limits import patiently
from bot.discord_layer.views import EXTEND_JOINED_PREFIX, joined_view
from providers import Downloader, ProviderError, ProviderName

log = logging.getLogger(__name__)

RETRIES = (5.0, 15.0)


def join_nonce(job: Job) -> str:
    """The same for every attempt to post this job's joined video (at most 25 characters)."""
    return f"reelbot-j-{job.id[:15]}"


class ChainPosts:
    def __init__(
        self, *, channels: ChannelGetter, presenter: DiscordPresenter, downloader: Downloader
    ) -> None:
        self.channels = channels
        self.presenter = presenter
        self.downloader = downloader

    async def fetch_clip(self, job: Job, message_id: int, *, prefix: str) -> Path | None:
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        try:
            message = await channel.fetch_message(message_id)
        except discord.HTTPException as error:
            log.warning("job %s: message %s not readable (%s)", job.id, message_id, error.status)
            return None
        videos = [a for a in message.attachments if _is_video(a)]
        try:
            if videos:
                downloaded = await self.downloader.fetch(
                    videos[0].url, provider="Discord", prefix=prefix
                )
            elif job.video_url is not None:
                downloaded = await self.downloader.fetch(
                    job.video_url, provider=ProviderName(job.provider).label, prefix=prefix
                )
            else:
                return None
        except ProviderError as error:
            log.warning("job %s: the clip could not be fetched: %s", job.id, error.admin_message)
            return None
        return downloaded.path

    async def find_join(self, job: Job) -> int | None:
        bot_user = self.channels.client.user
        if bot_user is None:
            return None
        marker = f"{EXTEND_JOINED_PREFIX}{job.id}"
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        since = datetime.fromtimestamp(job.updated_at - 120, tz=UTC)
        with contextlib.suppress(discord.HTTPException):
            async for message in channel.history(limit=200, after=since, oldest_first=True):
                if message.author.id == bot_user.id and marker in _custom_ids(message):
                    return message.id
        return None

    async def post_join(
        self, job: Job, path: Path, *, seconds: float, clips: int, hide: bool
    ) -> int:
        text = ngettext(
            job.guild_locale,
            "The whole video so far: {count} clip joined, {seconds} s.",
            "The whole video so far: {count} clips joined, {seconds} s.",
            clips,
            context="message",
            count=clips,
            seconds=round(seconds),
        )
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        name = f"reelbot-{(job.chain_root_id or job.id)[:8]}-{clips}-joined.mp4"

        async def send() -> discord.Message:
            file = discord.File(path, filename=name, spoiler=hide)  # afresh on every attempt
            try:
                return await channel.send(
                    text,
                    file=file,
                    view=joined_view(job.id),
                    allowed_mentions=render.NO_PINGS,
                    nonce=join_nonce(job),
                )
            finally:
                file.close()

        for attempt, pause in enumerate((*RETRIES, None)):
            try:
                async with self.presenter.posting(job.channel_id):
                    message = await patiently(send, what=f"job {job.id}: the joined video")
                return message.id
            except discord.Forbidden as error:
                raise DeliveryFailed(reasons.stored(reasons.JOINED_FORBIDDEN)) from error
            except discord.HTTPException as error:
                if error.status == 413 or error.code == 40005 or pause is None:
                    raise DeliveryFailed(
                        reasons.stored(reasons.JOINED_REFUSED, status=error.status)
                    ) from error
                log.warning(
                    "job %s: posting the joined video failed (attempt %d)", job.id, attempt + 1
                )
            except (aiohttp.ClientError, OSError) as error:
                if pause is None:
                    raise DeliveryFailed(reasons.stored(reasons.DISCORD_UNREACHABLE)) from error
                log.warning(
                    "job %s: posting the joined video failed (attempt %d)", job.id, attempt + 1
                )
            await asyncio.sleep(pause)
            found = await self.find_join(job)
            if found is not None:
                return found
        raise AssertionError("unreachable")  # pragma: no cover


def _is_video(attachment: discord.Attachment) -> bool:
    kind = attachment.content_type or ""
    return kind.startswith("video/") or attachment.filename.lower().endswith(".mp4")


def _custom_ids(message: discord.Message) -> set[str]:
    return {
        str(getattr(child, "custom_id", None))
        for row in message.components
        for child in getattr(row, "children", [])
    }
