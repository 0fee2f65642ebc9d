"""/reelbot language: the language of the server's public posts (status and result messages,
review messages, audit-channel posts). A job takes it when it starts, so a change applies to
new jobs; "default" follows the server's own preferred locale."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core.guild import store as guild_store
from bot.core.i18n import babel_locale, language_of, translate
from bot.discord_layer.translator import tr

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

DEFAULT = "default"


def language_name(language: str, reader: str | None) -> str:
    """The language's name in the reader's: French is "French" to an English reader,
    "français" to a French one, "フランス語" to a Japanese one (Babel's CLDR names, cased as
    the reader's language writes them)."""
    return babel_locale(language).get_display_name(babel_locale(reader)) or language


def language_command(bot: VideoBot) -> app_commands.Command[Any, ..., None]:
    """The command, for the /reelbot group (whose check admits only Manage Server)."""

    @app_commands.command(
        name="language",
        description=tr("command", "Language of the bot's public posts"),
    )
    @app_commands.describe(language=tr("command", "A language, or default: the server's own"))
    @app_commands.choices(
        language=[
            Choice(name=tr("choice", "English"), value="en"),
            Choice(name=tr("choice", "French"), value="fr"),
            Choice(name=tr("choice", "Japanese"), value="ja"),
            Choice(name=tr("choice", "the server's language (default)"), value=DEFAULT),
        ]
    )
    async def language(interaction: discord.Interaction[VideoBot], language: str) -> None:
        chosen = None if language == DEFAULT else language_of(language)
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        await bot.db.run(
            lambda s: guild_store.update_config(
                session=s,
                guild_id=gid,
                actor_id=actor,
                now=now,
                note=f"language {chosen or DEFAULT}",
                locale=chosen,
            )
        )
        reader = interaction.locale.value
        if chosen is None:
            preferred = interaction.guild_locale
            effective = language_of(None if preferred is None else preferred.value)
            text = translate(
                reader,
                "New jobs will post in the server's language, now {language}.",
                context="content",
                language=language_name(effective, reader),
            )
        else:
            text = translate(
                reader,
                "New jobs will post in {language}.",
                context="content",
                language=language_name(chosen, reader),
            )
        await interaction.edit_original_response(content=text)

    return language
