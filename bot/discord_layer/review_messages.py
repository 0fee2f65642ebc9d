"""The review channel's messages and the member's answer: posting a held request, marking
its message when it is settled or expires, and telling a member whose request was never
public what became of it."""

from __future__ import annotations

import logging

import discord

from bot.core.i18n import translate
from bot.core.jobs.models import Job
from bot.core.jobs.reasons import shown as reason_shown
from bot.core.lookups import Lookups
from bot.discord_layer import message_image, render
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.rate_limits import patiently
from bot.discord_layer.views import review_view

log = logging.getLogger(__name__)


class ReviewMessages:
    def __init__(self, *, channels: ChannelGetter, lookups: Lookups) -> None:
        self.channels = channels
        self.lookups = lookups

    async def post_request(
        self, job: Job, review_channel_id: int, *, image: tuple[bytes, str] | None
    ) -> int:
        """Post a held request in the review channel, with its image shown; return the
        message id. The image stays on this message until the request is approved."""
        channel = self.channels.get(review_channel_id, guild_id=job.guild_id)
        embed = render.review_embed(job)
        if image is not None:
            embed.set_image(url=f"{message_image.SCHEME}{image[1]}")

        async def send() -> discord.Message:
            return await channel.send(
                embed=embed,
                view=review_view(job.id, job.guild_locale),
                allowed_mentions=render.NO_PINGS,
                **message_image.upload(image),
            )

        message = await patiently(send, what=f"job {job.id}: the review request")
        return message.id

    async def expire(self, job: Job) -> None:
        """Mark a review message of a request that expired, and tell the member."""
        if job.review_message_id is None:
            return
        outcome = translate(
            job.guild_locale, "⌛ Expired: nobody reviewed it in time", context="field_value"
        )
        await self._edit(job, outcome, flagged=False)
        if job.status_message_id is None:
            await self.tell_member(job)

    async def tell_member(self, job: Job) -> None:
        """A request that was never public is answered privately: a direct message in the
        member's own language, or, when the member does not accept those, a mention in the
        channel without the prompt, in the server's."""
        mine = job.member_locale
        stated = reason_shown(mine, job.error) if job.error else None
        reason = render.safe_text(
            stated or translate(mine, "no reason given", context="field_value"), 300
        )
        prompt = render.safe_text(job.prompt or "", 100)
        client = self.channels.client
        try:
            user = client.get_user(job.user_id) or await client.fetch_user(job.user_id)
            await user.send(
                translate(
                    mine,
                    "Your video request in {channel} (“{prompt}”) was not approved: {reason}. "
                    "Nothing was charged.",
                    context="content",
                    channel=f"<#{job.channel_id}>",
                    prompt=prompt,
                    reason=reason,
                ),
                allowed_mentions=render.NO_PINGS,
            )
            return
        except discord.HTTPException as error:
            log.info("job %s: could not message the member (%s)", job.id, error.code)
        channel = self.channels.get(job.channel_id, guild_id=job.guild_id)
        try:
            await channel.send(
                translate(
                    job.guild_locale,
                    "{mention}, your video request was not approved. Nothing was charged.",
                    context="content",
                    mention=f"<@{job.user_id}>",
                ),
                allowed_mentions=render.requester_only(job.user_id),
            )
        except discord.HTTPException as error:
            log.warning("job %s: could not tell the member (%s)", job.id, error.status)

    async def _edit(self, job: Job, outcome: str, *, flagged: bool) -> None:
        config = await self.lookups.guild_config(job.guild_id)
        # Where it was posted; older rows: the server's review channel now.
        channel_id = job.review_channel_id or config.review_channel_id
        if channel_id is None or job.review_message_id is None:
            return
        channel = self.channels.get(channel_id, guild_id=job.guild_id)
        try:
            await channel.get_partial_message(job.review_message_id).edit(
                embed=render.review_embed(job, flagged=flagged, outcome=outcome), view=None
            )
        except discord.HTTPException as error:
            log.warning("job %s: could not update the review message (%s)", job.id, error.status)
