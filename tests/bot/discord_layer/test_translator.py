"""The command Translator: descriptions and choice names in French and Japanese, names left
English, and nothing for English or an unsupported locale (Discord then shows the source)."""

from __future__ import annotations

import discord
import pytest
from discord.app_commands import TranslationContext
from discord.app_commands import TranslationContextLocation as Where

from bot.discord_layer.translator import CatalogueTranslator, tr


async def _translate(
    where: Where, text: str, locale: discord.Locale, *, context: str
) -> str | None:
    translator = CatalogueTranslator()
    await translator.load()
    string = tr("choice" if context == "choice" else "command", text)
    return await translator.translate(string, locale, TranslationContext(where, None))  # type: ignore[call-overload]


async def test_a_description_is_translated_for_french_and_japanese() -> None:
    text = "Length of the clip"
    assert (
        await _translate(
            Where.parameter_description, text, discord.Locale.french, context="command"
        )
        == "Durée du clip"
    )
    assert (
        await _translate(
            Where.parameter_description, text, discord.Locale.japanese, context="command"
        )
        == "クリップの長さ"
    )


async def test_a_choice_name_is_translated() -> None:
    assert (
        await _translate(Where.choice_name, "5 seconds", discord.Locale.french, context="choice")
        == "5 secondes"
    )


@pytest.mark.parametrize("where", [Where.command_name, Where.group_name, Where.parameter_name])
async def test_names_stay_english(where: Where) -> None:
    assert (
        await _translate(where, "Length of the clip", discord.Locale.french, context="command")
        is None
    )


@pytest.mark.parametrize(
    "locale",
    [discord.Locale.american_english, discord.Locale.british_english, discord.Locale.german],
)
async def test_english_and_unsupported_locales_get_no_entry(locale: discord.Locale) -> None:
    assert (
        await _translate(Where.command_description, "Length of the clip", locale, context="command")
        is None
    )
