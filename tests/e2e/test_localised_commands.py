"""The synced commands carry French and Japanese descriptions and choice names, end to end:
what the fake Discord received on the bulk overwrite (PUT) at start-up, validated there by
Discord's own localisation rules (tests/fakediscord/_commands.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from providers import ASPECT_RATIOS, ProviderName
from tests.e2e.harness import GUILD, World, world
from tests.fakediscord._commands import LOCALES

LANGUAGES = ("fr", "ja")
LOCALISED = ("video", "animate", "quota", "jobs", "forget", "reelbot")
#: Choice names that are not words: service names, picture sizes, aspect ratios.
NOT_WORDS = frozenset({*(p.label for p in ProviderName), *ASPECT_RATIOS, "720P", "1080P"})


def synced(w: World) -> list[dict[str, Any]]:
    """The body of the last PUT of this server's commands."""
    path = f"/applications/{w.fake.application_id}/guilds/{GUILD}/commands"
    puts = [r for r in w.fake.requests if r.method == "PUT" and r.path == path]
    assert puts, w.fake.describe_requests()
    body: list[dict[str, Any]] = puts[-1].json
    return body


def walk(node: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every command, group, sub-command and option under `node`, with its path."""
    yield where, node
    for option in node.get("options") or []:
        yield from walk(option, f"{where} {option['name']}")


async def test_every_description_and_choice_is_translated_to_french_and_japanese(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        commands = {c["name"]: c for c in synced(w)}
        # Discord took them: every localisation within its rules, each command under the
        # 8000 characters all its texts in every language may add up to
        registered = {c["name"]: c for c in w.fake.registered_guild_commands[GUILD]}
    assert set(LOCALISED) <= commands.keys()
    assert all(registered[n]["description_localizations"] for n in LOCALISED)
    missing: list[str] = []
    for name in LOCALISED:
        for where, node in walk(commands[name], name):
            descriptions = node.get("description_localizations") or {}
            for language in LANGUAGES:
                text = descriptions.get(language)
                if not text or text == node["description"]:
                    missing.append(f"{where}: description in {language}")
            # names stay English: no name localisation at all, or only valid ones
            assert set(node.get("name_localizations") or {}) <= LOCALES, where
            for choice in node.get("choices") or []:
                if choice["name"] in NOT_WORDS:
                    continue
                names = choice.get("name_localizations") or {}
                missing += [
                    f"{where} choice {choice['name']!r} in {language}"
                    for language in LANGUAGES
                    if not names.get(language) or names[language] == choice["name"]
                ]
    assert missing == []


async def test_english_speakers_see_the_source_text(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        video = next(c for c in synced(w) if c["name"] == "video")
    assert video["description"] == "Make a short video from a prompt"
    localised = video.get("description_localizations") or {}
    # English is the source: no en-US/en-GB entry, and no locale we have no catalogue for
    assert set(localised) == set(LANGUAGES)
    assert localised["fr"] == "Créer une courte vidéo à partir d'un prompt"
