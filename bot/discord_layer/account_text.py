"""The lines of /quota and the entries of /jobs, in the member's own language: a member's own
numbers, formatted for their locale (Babel), with Discord timestamps (which every client
shows in its own language and time zone). Prompts are shown as written."""

from __future__ import annotations

from bot.core.i18n import later, ngettext, number, translate
from bot.core.jobs.models import Job, JobState
from bot.core.quota_policy import QuotaPolicy, Usage
from bot.discord_layer import render
from bot.discord_layer.errors import stamp
from bot.discord_layer.usage_text import cost_text

Locale = str | None


def used(locale: Locale, usage: Usage, policy: QuotaPolicy) -> str:
    """ "**Used:** 2 of 5 units in the last 24 h (**3 left**)." """
    values = {
        "used": number(locale, usage.used),
        "limit": number(locale, usage.limit),
        "remaining": number(locale, usage.remaining),
    }
    if policy.daily:
        return ngettext(
            locale,
            "**Used:** {used} of {limit} unit today (UTC) (**{remaining} left**).",
            "**Used:** {used} of {limit} units today (UTC) (**{remaining} left**).",
            usage.limit,
            context="reply",
            **values,
        )
    return ngettext(
        locale,
        "**Used:** {used} of {limit} unit in the last {hours} h (**{remaining} left**).",
        "**Used:** {used} of {limit} units in the last {hours} h (**{remaining} left**).",
        usage.limit,
        context="reply",
        hours=number(locale, round(policy.window_seconds / 3600, 2)),
        **values,
    )


def costs(locale: Locale, policy: QuotaPolicy) -> str:
    return translate(
        locale,
        "A 5-second clip costs {cost_5s}, a 10-second clip {cost_10s}.",
        context="reply",
        cost_5s=number(locale, policy.cost_5s),
        cost_10s=number(locale, policy.cost_10s),
    )


def in_progress(locale: Locale, usage: Usage) -> str:
    return translate(
        locale,
        "**In progress:** {count} of at most {most} at a time.",
        context="reply",
        count=number(locale, usage.in_flight),
        most=number(locale, usage.max_in_flight),
    )


def frees_up(locale: Locale, frees_at: float) -> str:
    return translate(
        locale,
        "Your oldest unit frees up {relative} ({date}).",
        context="reply",
        relative=stamp(frees_at, "R"),
        date=stamp(frees_at, "f"),
    )


_STATE_WORDS = {
    JobState.PENDING_REVIEW: later("reply_field_name", "🛡️ awaiting review"),
    JobState.HELD: later("reply_field_name", "🛡️ held for review"),
    JobState.REJECTED: later("reply_field_name", "🚫 not approved"),
    JobState.ACCEPTED: later("reply_field_name", "⏳ waiting"),
    JobState.SUBMITTING: later("reply_field_name", "📨 sending"),
    JobState.SUBMITTED: later("reply_field_name", "🕒 queued"),
    JobState.RUNNING: later("reply_field_name", "🎬 generating"),
    JobState.DOWNLOADING: later("reply_field_name", "📦 finishing"),
    JobState.DELIVERING: later("reply_field_name", "📦 posting"),
    JobState.DELIVERED: later("reply_field_name", "✅ delivered"),
    JobState.FAILED: later("reply_field_name", "❌ failed (refunded)"),
    JobState.CANCELLED: later("reply_field_name", "🚫 cancelled (refunded)"),
    JobState.UNKNOWN: later("reply_field_name", "❔ unknown (held for an admin)"),
}


def state_word(locale: Locale, state: JobState) -> str:
    return _STATE_WORDS[state].text(locale)


def summary(locale: Locale, job: Job, *, now: float) -> str:
    """The prompt (as written), then when, where and how long, and a link to its message."""
    prompt = job.prompt or translate(locale, "(prompt erased)", context="reply_field_value")
    parts = [
        stamp(min(job.created_at, now), "R"),
        render.provider_label(job),
        translate(
            locale, "{seconds} s", context="reply_field_value", seconds=number(locale, job.duration)
        ),
        cost_text(0 if job.refunded else job.cost, locale),  # a refunded job cost nothing
    ]
    message_id = job.result_message_id or job.status_message_id
    if message_id:
        link = f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{message_id}"
        opened = translate(locale, "open", context="reply_field_value")
        parts.append(f"[{opened}]({link})")
    return f"{render.safe_text(prompt, 80)}\n{' · '.join(parts)}"
