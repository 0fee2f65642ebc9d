"""translate() and ngettext(): the reader's language, English for anything else, the
catalogue's own plural rule, and numbers, durations and times formatted for the locale."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from bot.core import i18n
from bot.core.i18n.catalogues import load, po_path

VIDEO = "Make a short video from a prompt"


@pytest.mark.parametrize("locale", ["de", "es-ES", "zh-CN", "xx-YY", "", None, "en-US", "en-GB"])
def test_an_unsupported_locale_gets_english(locale: str | None) -> None:
    assert i18n.translate(locale, VIDEO, context="command") == VIDEO


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr", "Créer une courte vidéo à partir d'un prompt"),
        ("ja", "プロンプトから短い動画を作成"),
    ],
)
def test_french_and_japanese_readers_get_their_language(locale: str, expected: str) -> None:
    assert i18n.translate(locale, VIDEO, context="command") == expected


def test_a_message_missing_from_the_catalogue_is_english_with_its_parameters() -> None:
    text = "Your {count} videos are ready"
    assert i18n.translate("fr", text, count=3) == "Your 3 videos are ready"


def _catalogue(
    tmp_path: Path, language: str, plural_forms: str, plural: list[str], who: str, fuzzy: str
) -> None:
    """A .po file as a translator writes it."""
    forms = "\n".join(f'msgstr[{i}] "{form}"' for i, form in enumerate(plural))
    path = po_path(language, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'''msgid ""
msgstr ""
"Language: {language}\\n"
"Plural-Forms: {plural_forms}\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgctxt "message"
msgid "{{n}} video"
msgid_plural "{{n}} videos"
{forms}

msgid "{{who}} made a video"
msgstr "{who}"

#, fuzzy
msgid "Cancel"
msgstr "{fuzzy}"
''',
        encoding="utf-8",
    )


@pytest.fixture
def messages(tmp_path: Path) -> i18n.Messages:
    _catalogue(
        tmp_path,
        "fr",
        "nplurals=2; plural=(n > 1);",
        plural=["{n} vidéo", "{n} vidéos"],
        who="Vidéo créée par {who}",
        fuzzy="Annuler",
    )
    _catalogue(
        tmp_path,
        "ja",
        "nplurals=1; plural=0;",
        plural=["動画{n}本"],
        who="{who} さんが動画を作成しました",
        fuzzy="キャンセル",
    )
    return i18n.Messages(load(tmp_path))


def test_french_plural_rule_counts_zero_and_one_as_singular(messages: i18n.Messages) -> None:
    forms = [
        messages.ngettext("fr", "{n} video", "{n} videos", n, context="message")
        for n in (0, 1, 2, 1000)
    ]
    assert forms == ["0 vidéo", "1 vidéo", "2 vidéos", "1000 vidéos"]


def test_japanese_has_one_form(messages: i18n.Messages) -> None:
    forms = [
        messages.ngettext("ja", "{n} video", "{n} videos", n, context="message") for n in (1, 2)
    ]
    assert forms == ["動画1本", "動画2本"]


def test_english_plural_for_an_unsupported_locale(messages: i18n.Messages) -> None:
    forms = [
        messages.ngettext("de", "{n} video", "{n} videos", n, context="message") for n in (0, 1, 2)
    ]
    assert forms == ["0 videos", "1 video", "2 videos"]


def test_named_placeholders_may_move(messages: i18n.Messages) -> None:
    assert messages.translate("fr", "{who} made a video", who="Ana") == "Vidéo créée par Ana"
    assert (
        messages.translate("ja", "{who} made a video", who="Ana") == "Ana さんが動画を作成しました"
    )


def test_a_fuzzy_entry_is_not_used(messages: i18n.Messages) -> None:
    assert messages.translate("fr", "Cancel") == "Cancel"


def test_a_translation_with_a_wrong_placeholder_falls_back_to_english(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _catalogue(
        tmp_path,
        "fr",
        "nplurals=2; plural=(n > 1);",
        plural=["{n} vidéo", "{n} vidéos"],
        who="Vidéo créée par {qui}",
        fuzzy="Annuler",
    )
    messages = i18n.Messages(load(tmp_path, ("fr",)))
    with caplog.at_level(logging.ERROR):
        assert messages.translate("fr", "{who} made a video", who="Ana") == "Ana made a video"
    assert "does not fit its parameters" in caplog.text


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("fr", "1\u202f234,5"), ("ja", "1,234.5"), ("en-US", "1,234.5"), ("de", "1,234.5")],
)
def test_numbers_in_the_readers_locale(locale: str, expected: str) -> None:
    assert i18n.number(locale, 1234.5) == expected


@pytest.mark.parametrize(
    ("locale", "seconds", "expected"),
    [
        ("fr", 10, "10\xa0secondes"),
        ("ja", 10, "10 秒"),
        ("en-GB", 600, "10 minutes"),
        ("fr", 7200, "2\xa0heures"),
    ],
)
def test_durations_in_the_readers_locale(locale: str, seconds: float, expected: str) -> None:
    assert i18n.duration(locale, seconds) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "Nov 30, 2026, 6:05:00\u202fPM"),
        ("en-GB", "30 Nov 2026, 18:05:00"),
        ("fr", "30 nov. 2026, 18:05:00"),
        ("ja", "2026/11/30 18:05:00"),
    ],
)
def test_times_in_the_readers_locale(locale: str, expected: str) -> None:
    when = dt.datetime(2026, 11, 30, 18, 5, tzinfo=dt.UTC)
    assert i18n.moment(locale, when) == expected
