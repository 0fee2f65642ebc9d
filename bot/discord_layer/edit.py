"""The Edit form: a modal opened from a delivered result, with its prompt and seed filled in.
Submitting starts a new job with the edited prompt and seed and the result's other options
(`Actions.edit`). Worded in the language of the member who opens it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.core.i18n import translate
from bot.core.jobs.models import Job
from bot.discord_layer.errors import BadRequest, report
from providers import MAX_PROMPT_CHARS, MAX_SEED

Interaction = discord.Interaction[discord.Client]
# Called with the submit interaction, the edited prompt and the seed (None: a random one).
Submit = Callable[[Interaction, str, int | None], Awaitable[None]]

EDIT_MODAL_PREFIX = "reelbot:editform:"
PROMPT_INPUT = "reelbot-edit-prompt"
SEED_INPUT = "reelbot-edit-seed"


def parse_seed(text: str, locale: str | None) -> int | None:
    """The seed typed in the form: empty or -1 for a random one, else 0 to MAX_SEED."""
    text = text.strip()
    if text in ("", "-1"):
        return None
    try:
        seed = int(text)
    except ValueError:
        seed = -2
    if not 0 <= seed <= MAX_SEED:
        raise BadRequest(
            translate(
                locale,
                "The seed must be a whole number from 0 to {max}, or -1 (or empty) for a random "
                "one. Nothing was charged.",
                context="content",
                max=MAX_SEED,
            )
        )
    return seed


class EditModal(discord.ui.Modal):
    def __init__(self, job: Job, *, locale: str | None, submit: Submit) -> None:
        super().__init__(
            title=translate(locale, "Edit and make a new video", context="modal_title"),
            timeout=900,
            custom_id=f"{EDIT_MODAL_PREFIX}{job.id}",
        )
        self.locale = locale
        self.submit = submit
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=translate(locale, "Prompt", context="input_label"),
            custom_id=PROMPT_INPUT,
            style=discord.TextStyle.paragraph,
            default=job.prompt,
            min_length=1,
            max_length=MAX_PROMPT_CHARS,
        )
        self.seed: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=translate(locale, "Seed (-1 or empty for a random one)", context="input_label"),
            custom_id=SEED_INPUT,
            default=str(job.seed),
            required=False,
            max_length=20,
        )
        self.add_item(self.prompt)
        self.add_item(self.seed)

    async def on_submit(self, interaction: Interaction) -> None:
        # Answered here rather than in on_error, so the modal is stopped either way.
        try:
            seed = parse_seed(str(self.seed.value or ""), self.locale)
            await self.submit(interaction, str(self.prompt.value), seed)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)
