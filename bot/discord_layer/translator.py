"""Command descriptions, option descriptions and choice names in the member's language.

discord.py asks the tree's `Translator` for every `locale_str` of every command when it syncs,
once per Discord locale, and sends what it gets back as ``description_localizations`` /
``name_localizations`` (None: no entry for that locale, and Discord shows the English text).
Command, group and option names stay English: members and help pages share them."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.core import i18n

Context = Literal["command", "choice"]

#: Names are left alone; everything else a member reads while typing a command is translated.
_NAMES = frozenset({Where.command_name, Where.group_name, Where.parameter_name})


def tr(context: Context, message: str) -> app_commands.locale_str:
    """A command string to translate: `context` says where it goes (its length limit is
    `i18n.LIMITS[context]`, checked for every catalogue by the test suite).

    The extractor finds these calls by name: ``pybabel extract -k tr:1c,2`` (README)."""
    return app_commands.locale_str(message, context=context)


class CatalogueTranslator(app_commands.Translator):
    """Answers from the gettext catalogues in bot/locales."""

    async def load(self) -> None:
        # Read and compile the catalogues off the event loop, before the first sync.
        await asyncio.to_thread(i18n.catalogues)

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext[Any, Any],
    ) -> str | None:
        if context.location in _NAMES:
            return None
        msgctxt = string.extras.get("context")
        return i18n.lookup(locale.value, string.message, context=msgctxt)
