"""The runner's view of Discord: status edits (throttled), result posts, and finding a result
that was already posted before a restart. Everything goes through the bot's own channel
endpoints, never an interaction token, so jobs may outlive the token's 15 minutes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot import render
from bot.jobs.models import Job, JobState
from bot.jobs.runner import DeliveryFailed
from bot.views import held_view, result_view, status_view
from providers import Downloaded

if TYPE_CHECKING:
    from bot.client import VideoBot

log = logging.getLogger(__name__)

MISSING_PERMISSIONS = (
    "I can't post in this channel: I need the View Channel, Send Messages, Embed Links, "
    "Attach Files and Read Message History permissions here. Ask an admin to grant them"
)
TOO_LARGE_NOTE = "The file is too large to attach here, so here is a link (it may expire):"
DELIVERY_RETRIES = (5.0, 15.0, 45.0)


class DiscordPresenter:
    def __init__(self, *, edit_interval: float) -> None:
        self._bot: VideoBot | None = None
        self.edit_interval = edit_interval
        self._last_edit: dict[str, float] = {}
        self._pending: dict[str, tuple[Job, int | None]] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}

    def bind(self, bot: VideoBot) -> None:
        self._bot = bot

    @property
    def bot(self) -> VideoBot:
        assert self._bot is not None  # noqa: S101 - bound by the composition root
        return self._bot

    async def close(self) -> None:
        tasks = list(self._flushers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- status ---------------------------------------------------------------------------

    async def show_status(self, job: Job, *, waiting_position: int | None = None) -> bool:
        if job.state is JobState.REJECTED and job.moderator_id is None:
            await self.bot.review.expire(job)  # the review deadline passed
        if job.status_message_id is None:
            return True
        now = time.monotonic()
        last = self._last_edit.get(job.id)
        if job.state.is_final or last is None or now - last >= self.edit_interval:
            self._pending.pop(job.id, None)
            shown = await self._edit(job, waiting_position)
            if job.state.is_final:
                self._forget(job.id)
            return shown
        # Too soon: keep only the newest state and show it when the interval has passed.
        self._pending[job.id] = (job, waiting_position)
        if job.id not in self._flushers:
            task = asyncio.get_running_loop().create_task(
                self._flush_later(job.id, self.edit_interval - (now - last))
            )
            self._flushers[job.id] = task
            task.add_done_callback(lambda t: self._flusher_done(job.id, t))
        return True

    async def _flush_later(self, job_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        pending = self._pending.pop(job_id, None)
        if pending is not None:
            await self._edit(*pending)

    def _flusher_done(self, job_id: str, task: asyncio.Task[None]) -> None:
        self._flushers.pop(job_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.warning("job %s: delayed status edit failed", job_id, exc_info=task.exception())

    def _forget(self, job_id: str) -> None:
        self._last_edit.pop(job_id, None)
        task = self._flushers.pop(job_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _edit(self, job: Job, waiting_position: int | None) -> bool:
        assert job.status_message_id is not None  # noqa: S101
        self._last_edit[job.id] = time.monotonic()
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        message = channel.get_partial_message(job.status_message_id)
        view = None if job.state.is_final else status_view(job.id)
        try:
            await message.edit(
                embed=render.status_embed(job, waiting_position=waiting_position),
                view=view,
                allowed_mentions=render.NO_PINGS,
            )
        except discord.NotFound:
            log.info("job %s: the status message was deleted", job.id)
        except discord.HTTPException as error:
            log.warning("job %s: status edit refused (%s %s)", job.id, error.status, error.code)
            return False
        return True

    # --- results --------------------------------------------------------------------------

    async def deliver(self, job: Job, video: Downloaded | None) -> int:
        for attempt, pause in enumerate((*DELIVERY_RETRIES, None)):
            try:
                return await self._post(job, video)
            except discord.Forbidden as error:
                log.warning("job %s: cannot post the result (%s)", job.id, error.code)
                raise DeliveryFailed(MISSING_PERMISSIONS) from error
            except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
                if pause is None:
                    raise DeliveryFailed(
                        "Discord kept refusing the video; please try again later"
                    ) from error
                log.warning(
                    "job %s: posting the result failed (attempt %d): %s", job.id, attempt + 1, error
                )
                await asyncio.sleep(pause)
                found = await self.find_delivery(job)
                if found is not None:
                    return found
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, job: Job, video: Downloaded | None) -> int:
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        embed = render.result_embed(job)
        view = result_view(job.id)
        mentions = render.requester_only(job.user_id)
        # discord.py sends every nonce with enforce_nonce; ours is the same on every attempt.
        nonce = render.result_nonce(job)
        if video is not None and video.size <= job.upload_limit:
            file = discord.File(
                video.path, filename=f"reelbot-{job.id[:8]}.mp4", spoiler=_hide(job)
            )
            try:
                message = await channel.send(
                    render.result_content(job),
                    embed=embed,
                    file=file,
                    view=view,
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
            render.result_content(job, link=link, note=TOO_LARGE_NOTE),
            embed=embed,
            view=view,
            allowed_mentions=mentions,
            nonce=nonce,
        )
        return message.id

    async def hold_for_review(self, job: Job, video: Downloaded | None) -> int:
        config = await self.bot.guild_config(job.guild_id)
        if config.review_channel_id is None:
            raise DeliveryFailed("no review channel is set for flagged videos")
        channel = self.bot.get_partial_messageable(config.review_channel_id, guild_id=job.guild_id)
        embed = render.review_embed(job, flagged=True)
        try:
            if video is not None and video.size <= job.upload_limit:
                file = discord.File(video.path, filename=f"flagged-{job.id[:8]}.mp4", spoiler=True)
                try:
                    message = await channel.send(
                        embed=embed,
                        file=file,
                        view=held_view(job.id),
                        allowed_mentions=render.NO_PINGS,
                    )
                finally:
                    file.close()
            else:
                message = await channel.send(
                    f"||{job.video_url}||",
                    embed=embed,
                    view=held_view(job.id),
                    allowed_mentions=render.NO_PINGS,
                )
        except discord.HTTPException as error:
            raise DeliveryFailed("the review channel refused the flagged video") from error
        return message.id

    async def fresh_image_url(self, job: Job) -> str | None:
        """Discord's attachment URLs are signed and expire (`ex`, about 24 h): fetch the
        status message that carries the image again, which signs its URLs anew; without Read
        Message History there, ask Discord to refresh the stored URL instead."""
        if job.status_message_id is None:
            return None
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            message = await channel.fetch_message(job.status_message_id)
        except discord.Forbidden:
            return await self._refreshed(job)
        except discord.HTTPException as error:
            log.warning("job %s: the image's message is gone (%s)", job.id, error.status)
            return None
        return message.attachments[0].url if message.attachments else None

    async def _refreshed(self, job: Job) -> str | None:
        if job.image_url is None:
            return None
        route = discord.http.Route("POST", "/attachments/refresh-urls")
        try:
            answer = await self.bot.http.request(route, json={"attachment_urls": [job.image_url]})
        except discord.HTTPException as error:
            log.warning("job %s: could not refresh the image URL (%s)", job.id, error.status)
            return None
        for entry in answer.get("refreshed_urls", []):
            if entry.get("original") == job.image_url and entry.get("refreshed"):
                return str(entry["refreshed"])
        return None

    async def find_delivery(self, job: Job) -> int | None:
        found = await self._find(job, f"{render.REROLL_PREFIX}{job.id}", job.updated_at)
        return None if found is None else found.id

    async def find_status(self, job: Job) -> tuple[int, str | None] | None:
        found = await self._find(job, f"{render.CANCEL_PREFIX}{job.id}", job.created_at)
        if found is None:
            return None
        return found.id, found.attachments[0].url if found.attachments else None

    async def _find(self, job: Job, marker: str, around: float) -> discord.Message | None:
        """The bot's own message in the job's channel carrying a button `marker`."""
        bot_user = self.bot.user
        if bot_user is None:
            return None
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
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


def _hide(job: Job) -> bool:
    """A flagged video goes behind a spoiler, except in an age-restricted channel."""
    return job.nsfw and not job.channel_nsfw
