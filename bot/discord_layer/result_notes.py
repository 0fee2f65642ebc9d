"""The line under a result that was re-encoded to fit the channel's upload limit: what the
member got, and where the full-quality file is while the provider keeps it. In the server's
language (a public post)."""

from __future__ import annotations

from bot.core.i18n import translate
from bot.core.jobs.models import Job


def fitted_note(job: Job, *, link: str) -> str:
    return translate(
        job.guild_locale,
        "The original was too large to attach here, so this is a smaller copy. "
        "Full quality (the link may expire): {link}",
        context="content",
        link=link,
    )
