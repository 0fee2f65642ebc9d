"""Failover and cost lines for status and result messages, in the reader's language."""

from __future__ import annotations

from bot.core.i18n import ngettext, translate
from bot.core.jobs.models import Job
from providers import ProviderName


def _label(name: str | None) -> str:
    try:
        return ProviderName(name or "").label
    except ValueError:
        return name or "?"


def failover_note(job: Job) -> str | None:
    """ "Sent to X because Y refused it: ..." for a job moved by provider failover (public:
    the server's language), or None."""
    if not job.failover_from:
        return None
    locale = job.guild_locale
    match job.failover_reason:
        case "key":
            why = translate(locale, "its API key was refused", context="message")
        case "credit":
            why = translate(locale, "its account is out of credit", context="message")
        case _:
            why = translate(locale, "it could not be reached", context="message")
    return translate(
        locale,
        "↪️ Sent to {provider} because {refused} refused it: {reason}.",
        context="message",
        provider=_label(job.provider),
        refused=_label(job.failover_from),
        reason=why,
    )


def cost_text(cost: int, locale: str | None) -> str:
    """A job's cost in quota units."""
    return ngettext(locale, "{n} unit", "{n} units", cost, context="message")
