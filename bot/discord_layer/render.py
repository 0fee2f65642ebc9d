"""What members see: status and result messages, built from a job row. No I/O here.

Everything here is public, so it speaks the job's public language (`Job.guild_locale`: the
language the server chose with /reelbot language when the job started, else the server's
preferred locale). Prompts are shown as written."""

from __future__ import annotations

from urllib.parse import urlsplit

import discord

from bot.core import bounded
from bot.core.i18n import duration, ngettext, translate
from bot.core.jobs.models import Job, JobState
from bot.core.jobs.reasons import shown as reason_shown
from bot.core.starting import PLACEHOLDER_IMAGE_URL
from bot.discord_layer import message_image
from bot.discord_layer.usage_text import cost_text, failover_note
from providers import Mode, ProviderName

MAX_PROMPT_SHOWN = 1000
CANCEL_PREFIX = "reelbot:cancel:"
REROLL_PREFIX = "reelbot:reroll:"
DELETE_PREFIX = "reelbot:delete:"
APPROVE_PREFIX = "reelbot:approve:"
REJECT_PREFIX = "reelbot:reject:"
RELEASE_PREFIX = "reelbot:release:"
DISCARD_PREFIX = "reelbot:discard:"

_COLOURS = {
    JobState.DELIVERED: discord.Colour.green(),
    JobState.REJECTED: discord.Colour.dark_grey(),
    JobState.FAILED: discord.Colour.red(),
    JobState.CANCELLED: discord.Colour.dark_grey(),
    JobState.UNKNOWN: discord.Colour.orange(),
}

# Status and result messages never ping anyone but, for results, the requester.
NO_PINGS = discord.AllowedMentions.none()


def requester_only(user_id: int) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(id=user_id)], replied_user=False
    )


def safe_text(text: str, limit: int = MAX_PROMPT_SHOWN) -> str:
    """User text shown verbatim: markdown and mentions neutralised, cut to fit."""
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    if len(escaped) > limit:
        escaped = escaped[: limit - 1] + "…"
    return escaped


def provider_label(job: Job) -> str:
    try:
        return ProviderName(job.provider).label
    except ValueError:
        return job.provider


def aspect_shown(job: Job) -> str:
    return job.aspect_ratio or translate(job.guild_locale, "from image", context="field_value")


def seconds_shown(job: Job, seconds: float) -> str:
    """A length of time in the job's public language ("5 sec", "5 s", "5 秒")."""
    return duration(job.guild_locale, seconds, width="short")


def _options_line(job: Job) -> str:
    return translate(
        job.guild_locale,
        "{provider} · {duration} · {resolution} · {aspect} · seed {seed}",
        context="field_value",
        provider=provider_label(job),
        duration=seconds_shown(job, job.duration),
        resolution=job.resolution,
        aspect=aspect_shown(job),
        seed=job.seed,
    )


def _reason(job: Job, otherwise: str, limit: int) -> str:
    """The job's stored reason (ours translated, a provider's as it said it), escaped."""
    shown = reason_shown(job.guild_locale, job.error) if job.error else otherwise
    return safe_text(shown, limit)


def status_text(job: Job, *, waiting_position: int | None = None) -> str:
    locale, label = job.guild_locale, provider_label(job)
    match job.state:
        case JobState.PENDING_REVIEW:
            return translate(
                locale,
                "🛡️ Awaiting review by a moderator. Nothing is charged until it is approved.",
                context="field_value",
            )
        case JobState.HELD:
            return translate(
                locale,
                "🛡️ The provider flagged the finished video; a moderator will review it "
                "before it is posted.",
                context="field_value",
            )
        case JobState.REJECTED:
            reason = _reason(job, translate(locale, "no reason given", context="field_value"), 300)
            return translate(
                locale,
                "🚫 Not approved: {reason}. Nothing was charged.",
                context="field_value",
                reason=reason,
            )
        case JobState.ACCEPTED:
            if waiting_position:
                return translate(
                    locale,
                    "⏳ Waiting for a free slot: position {position} in line.",
                    context="field_value",
                    position=waiting_position,
                )
            return translate(locale, "⏳ Waiting for a free slot.", context="field_value")
        case JobState.SUBMITTING:
            if job.submit_retry_at is not None:
                return translate(
                    locale,
                    "⏳ Waiting for {provider}'s rate limit; trying again {when}.",
                    context="field_value",
                    provider=label,
                    when=f"<t:{int(job.submit_retry_at) + 1}:R>",
                )
            return translate(
                locale, "📨 Sending to {provider}…", context="field_value", provider=label
            )
        case JobState.SUBMITTED:
            if job.queue_position:
                return translate(
                    locale,
                    "🕒 Queued at {provider}: position {position}.",
                    context="field_value",
                    provider=label,
                    position=job.queue_position,
                )
            return translate(
                locale, "🕒 Queued at {provider}.", context="field_value", provider=label
            )
        case JobState.RUNNING:
            started = int(job.started_at or job.updated_at)
            return translate(
                locale,
                "🎬 Generating at {provider}, started {when}.",
                context="field_value",
                provider=label,
                when=f"<t:{started}:R>",
            )
        case JobState.DOWNLOADING | JobState.DELIVERING:
            return translate(locale, "📦 Finished, posting the video…", context="field_value")
        case JobState.DELIVERED:
            return translate(locale, "✅ Done: the video is posted below.", context="field_value")
        case JobState.FAILED:
            reason = _reason(job, translate(locale, "unknown error", context="field_value"), 500)
            return translate(
                locale,
                "❌ Failed: {reason}. Your quota was given back.",
                context="field_value",
                reason=reason,
            )
        case JobState.CANCELLED:
            reason = _reason(job, translate(locale, "cancelled", context="field_value"), 200)
            return translate(
                locale,
                "🚫 Cancelled ({reason}). Your quota was given back.",
                context="field_value",
                reason=reason,
            )
        case JobState.UNKNOWN:
            return translate(
                locale,
                "❔ Outcome unknown: {reason}. Your quota is held until an admin checks it.",
                context="field_value",
                reason=_reason(job, "", 300),
            )


def prompt_shown(job: Job) -> str:
    """The whole prompt, escaped, for an embed description (4096). A prompt is at most 800
    characters and escapes to at most twice that, so it is never cut in practice."""
    erased = translate(job.guild_locale, "(prompt erased)", context="embed_description")
    return safe_text(job.prompt or erased, bounded.DESCRIPTION)


def _fit(embed: discord.Embed) -> discord.Embed:
    """Keep the embed within Discord's 6000 characters by shortening the description."""
    excess = len(embed) - bounded.EMBED_TOTAL
    if excess > 0 and embed.description:
        text = embed.description
        embed.description = text[: max(0, len(text) - excess - 1)] + "…"
    return embed


def _footer(job: Job) -> str:
    return translate(job.guild_locale, "job {job_id}", context="footer", job_id=job.id)


def status_thumbnail(job: Job) -> str | None:
    """Where the status embed's thumbnail comes from. The image the status message carries is
    named as that message's file (`attachment://`), never by its URL: Discord signs attachment
    URLs to expire (about 24 h), and every edit would send a dead one again."""
    if job.mode != Mode.IMAGE or not job.image_url or job.image_url == PLACEHOLDER_IMAGE_URL:
        return None
    if urlsplit(job.image_url).path.split("/")[1:2] != ["attachments"]:
        return job.image_url  # not a Discord attachment (given on the command line)
    name = message_image.embedded_name(job.image_url)
    return None if name is None else f"{message_image.SCHEME}{name}"


def status_embed(
    job: Job, *, waiting_position: int | None = None, image_name: str | None = None
) -> discord.Embed:
    """`image_name`: the `attachment://` name of an image posted with this embed."""
    locale = job.guild_locale
    if job.mode == Mode.IMAGE:
        title = translate(locale, "Image to video", context="embed_title")
    else:
        title = translate(locale, "Text to video", context="embed_title")
    embed = discord.Embed(
        title=title,
        description=prompt_shown(job),
        colour=_COLOURS.get(job.state, discord.Colour.blurple()),
    )
    requested_by = translate(locale, "Requested by", context="field_name")
    embed.add_field(name=requested_by, value=f"<@{job.user_id}>", inline=True)
    embed.add_field(
        name=translate(locale, "Options", context="field_name"),
        value=_options_line(job),
        inline=True,
    )
    status = status_text(job, waiting_position=waiting_position)
    note = failover_note(job)  # moved to another provider: say so
    embed.add_field(
        name=translate(locale, "Status", context="field_name"),
        value=status if note is None else f"{note}\n{status}",
        inline=False,
    )
    thumbnail = image_name or status_thumbnail(job)
    if thumbnail is not None:
        embed.set_thumbnail(url=thumbnail)
    embed.set_footer(text=_footer(job))
    return _fit(embed)


def review_embed(job: Job, *, flagged: bool = False, outcome: str | None = None) -> discord.Embed:
    """What moderators see in the review channel, in the server's language (`outcome` comes
    worded already)."""
    locale = job.guild_locale
    if flagged:
        title = translate(locale, "Flagged video to review", context="embed_title")
    else:
        title = translate(locale, "Request to review", context="embed_title")
    embed = discord.Embed(
        title=title,
        description=prompt_shown(job),
        colour=discord.Colour.orange() if outcome is None else discord.Colour.dark_grey(),
    )
    requested_by = translate(locale, "Requested by", context="field_name")
    embed.add_field(name=requested_by, value=f"<@{job.user_id}>", inline=True)
    embed.add_field(
        name=translate(locale, "Channel", context="field_name"),
        value=f"<#{job.channel_id}>",
        inline=True,
    )
    embed.add_field(
        name=translate(locale, "Options", context="field_name"),
        value=_options_line(job),
        inline=False,
    )
    embed.add_field(
        name=translate(locale, "Cost", context="field_name"),
        value=ngettext(locale, "{n} unit", "{n} units", job.cost, context="field_value"),
        inline=True,
    )
    if flagged:
        embed.add_field(
            name=translate(locale, "Why", context="field_name"),
            value=translate(
                locale,
                "The provider flagged the finished video as not safe for work.",
                context="field_value",
            ),
            inline=False,
        )
    if outcome is not None:
        embed.add_field(
            name=translate(locale, "Decision", context="field_name"), value=outcome, inline=False
        )
    embed.set_footer(text=_footer(job))
    return _fit(embed)


def result_content(job: Job, *, link: str | None = None) -> str:
    """The result's message text; with `link`, the video was too large to attach."""
    locale = job.guild_locale
    text = translate(
        locale, "{mention} your video is ready.", context="content", mention=f"<@{job.user_id}>"
    )
    if link is not None:
        note = translate(
            locale,
            "The file is too large to attach here, so here is a link (it may expire):",
            context="content",
        )
        text += f"\n{note} {link}"
    return text


def result_embed(job: Job) -> discord.Embed:
    locale = job.guild_locale
    embed = discord.Embed(
        title=translate(locale, "Your video", context="embed_title"),
        description=prompt_shown(job),
        colour=discord.Colour.green(),
    )

    def field(name: str, value: str) -> None:
        embed.add_field(name=name, value=value, inline=True)

    field(translate(locale, "Provider", context="field_name"), provider_label(job))
    field(translate(locale, "Duration", context="field_name"), seconds_shown(job, job.duration))
    field(translate(locale, "Resolution", context="field_name"), job.resolution)
    field(translate(locale, "Aspect ratio", context="field_name"), aspect_shown(job))
    field(translate(locale, "Seed", context="field_name"), str(job.seed))
    took = (job.finished_at or job.updated_at) - (job.submitted_at or job.created_at)
    field(
        translate(locale, "Generation time", context="field_name"),
        seconds_shown(job, max(0.0, took)),
    )
    field(translate(locale, "Cost", context="field_name"), cost_text(job.cost, locale))
    embed.set_footer(text=_footer(job))
    return _fit(embed)


def result_nonce(job: Job) -> str:
    """The same for every attempt to post this job's result (Discord allows 25 characters):
    with `enforce_nonce`, a retried post returns the first message instead of a second."""
    return f"reelbot-{job.id[:17]}"
