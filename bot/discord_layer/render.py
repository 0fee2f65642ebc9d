"""What members see: status and result messages, built from a job row. No I/O here."""

from __future__ import annotations

import discord

from bot.core import bounded
from bot.core.i18n import translate
from bot.core.jobs.models import Job, JobState
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


def _options_line(job: Job) -> str:
    aspect = job.aspect_ratio or "from image"
    return (
        f"{provider_label(job)} · {job.duration} s · {job.resolution} · {aspect} · seed {job.seed}"
    )


def status_text(job: Job, *, waiting_position: int | None = None) -> str:
    label = provider_label(job)
    match job.state:
        case JobState.PENDING_REVIEW:
            return "🛡️ Awaiting review by a moderator. Nothing is charged until it is approved."
        case JobState.HELD:
            return (
                "🛡️ The provider flagged the finished video; a moderator will review it "
                "before it is posted."
            )
        case JobState.REJECTED:
            reason = safe_text(job.error or "no reason given", 300)
            return f"🚫 Not approved: {reason}. Nothing was charged."
        case JobState.ACCEPTED:
            if waiting_position:
                return f"⏳ Waiting for a free slot: position {waiting_position} in line."
            return "⏳ Waiting for a free slot."
        case JobState.SUBMITTING:
            if job.submit_retry_at is not None:
                return (
                    f"⏳ Waiting for {label}'s rate limit; "
                    f"trying again <t:{int(job.submit_retry_at) + 1}:R>."
                )
            return f"📨 Sending to {label}…"
        case JobState.SUBMITTED:
            if job.queue_position:
                return f"🕒 Queued at {label}: position {job.queue_position}."
            return f"🕒 Queued at {label}."
        case JobState.RUNNING:
            started = int(job.started_at or job.updated_at)
            return f"🎬 Generating at {label}, started <t:{started}:R>."
        case JobState.DOWNLOADING | JobState.DELIVERING:
            return "📦 Finished, posting the video…"
        case JobState.DELIVERED:
            return "✅ Done: the video is posted below."
        case JobState.FAILED:
            reason = safe_text(job.error or "unknown error", 500)
            return f"❌ Failed: {reason}. Your quota was given back."
        case JobState.CANCELLED:
            reason = safe_text(job.error or "cancelled", 200)
            return f"🚫 Cancelled ({reason}). Your quota was given back."
        case JobState.UNKNOWN:
            return (
                f"❔ Outcome unknown: {safe_text(job.error or '', 300)}. "
                "Your quota is held until an admin checks it."
            )


def prompt_shown(job: Job) -> str:
    """The whole prompt, escaped, for an embed description (4096). A prompt is at most 800
    characters and escapes to at most twice that, so it is never cut in practice."""
    return safe_text(job.prompt or "(prompt erased)", bounded.DESCRIPTION)


def _fit(embed: discord.Embed) -> discord.Embed:
    """Keep the embed within Discord's 6000 characters by shortening the description."""
    excess = len(embed) - bounded.EMBED_TOTAL
    if excess > 0 and embed.description:
        text = embed.description
        embed.description = text[: max(0, len(text) - excess - 1)] + "…"
    return embed


def status_embed(job: Job, *, waiting_position: int | None = None) -> discord.Embed:
    title = "Image to video" if job.mode == Mode.IMAGE else "Text to video"
    embed = discord.Embed(
        title=title,
        description=prompt_shown(job),
        colour=_COLOURS.get(job.state, discord.Colour.blurple()),
    )
    embed.add_field(name="Requested by", value=f"<@{job.user_id}>", inline=True)
    embed.add_field(name="Options", value=_options_line(job), inline=True)
    status = status_text(job, waiting_position=waiting_position)
    note = failover_note(job)
    embed.add_field(
        name="Status", value=status if note is None else f"{note}\n{status}", inline=False
    )
    if job.mode == Mode.IMAGE and job.image_url:
        embed.set_thumbnail(url=job.image_url)
    embed.set_footer(text=f"job {job.id}")
    return _fit(embed)


def review_embed(job: Job, *, flagged: bool = False, outcome: str | None = None) -> discord.Embed:
    """What moderators see in the review channel."""
    title = "Flagged video to review" if flagged else "Request to review"
    embed = discord.Embed(
        title=title,
        description=prompt_shown(job),
        colour=discord.Colour.orange() if outcome is None else discord.Colour.dark_grey(),
    )
    embed.add_field(name="Requested by", value=f"<@{job.user_id}>", inline=True)
    embed.add_field(name="Channel", value=f"<#{job.channel_id}>", inline=True)
    embed.add_field(name="Options", value=_options_line(job), inline=False)
    embed.add_field(
        name="Cost", value=f"{job.cost} unit{'s' if job.cost != 1 else ''}", inline=True
    )
    if flagged:
        embed.add_field(
            name="Why",
            value="The provider flagged the finished video as not safe for work.",
            inline=False,
        )
    if outcome is not None:
        embed.add_field(name="Decision", value=outcome, inline=False)
    embed.set_footer(text=f"job {job.id}")
    return _fit(embed)


def result_content(job: Job, *, link: str | None = None, note: str = "") -> str:
    text = f"<@{job.user_id}> your video is ready."
    if link is not None:
        text += f"\n{note} {link}".rstrip()
    return text


def result_embed(job: Job) -> discord.Embed:
    embed = discord.Embed(
        title="Your video",
        description=prompt_shown(job),
        colour=discord.Colour.green(),
    )
    embed.add_field(name="Provider", value=provider_label(job), inline=True)
    embed.add_field(name="Duration", value=f"{job.duration} s", inline=True)
    embed.add_field(name="Resolution", value=job.resolution, inline=True)
    embed.add_field(name="Aspect ratio", value=job.aspect_ratio or "from image", inline=True)
    embed.add_field(name="Seed", value=str(job.seed), inline=True)
    took = (job.finished_at or job.updated_at) - (job.submitted_at or job.created_at)
    embed.add_field(name="Generation time", value=f"{max(0.0, took):.0f} s", inline=True)
    embed.add_field(
        name=translate(job.guild_locale, "Cost"),
        value=cost_text(job.cost, job.guild_locale),
        inline=True,
    )
    embed.set_footer(text=f"job {job.id}")
    return _fit(embed)


def result_nonce(job: Job) -> str:
    """The same for every attempt to post this job's result (Discord allows 25 characters):
    with `enforce_nonce`, a retried post returns the first message instead of a second."""
    return f"reelbot-{job.id[:17]}"
