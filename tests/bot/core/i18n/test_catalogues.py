"""The catalogue check: every message the code uses is translated in every catalogue, with
the same placeholders, and fits the Discord limit of the place it goes.

Messages are found the way `pybabel extract` finds them (babel.cfg, `i18n.KEYWORDS`), so a
string wrapped in the code but missing from a catalogue fails here, not in front of members."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.core import i18n
from bot.core.i18n.catalogues import LOCALES_DIR, po_path

ROOT = Path(__file__).resolve().parents[4]
Key = tuple[str | None, str]

#: Each catalogue's plural rule, as gettext writes it: French says "0 vidéo", "1 vidéo",
#: "2 vidéos"; Japanese has one form.
PLURAL_FORMS = {"fr": "nplurals=2; plural=(n > 1);", "ja": "nplurals=1; plural=0;"}


def _used_in_code() -> dict[Key, tuple[str, ...]]:
    """(context, msgid) -> every form of the message (singular, plural) found in the code."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    keywords = parse_keywords(list(i18n.KEYWORDS))
    found: dict[Key, tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        forms = tuple(message) if isinstance(message, tuple | list) else (message,)
        found[(context, forms[0])] = forms
    return found


USED = _used_in_code()


def _read(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source)


def _entries(catalog: Catalog) -> dict[Key, Message]:
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _forms(value: object) -> list[str]:
    return list(value) if isinstance(value, tuple | list) else [str(value or "")]


def test_the_code_uses_messages_at_all() -> None:
    # the extractor really finds the wrapped strings (a wrong keyword would find none)
    assert ("command", "Make a short video from a prompt") in USED
    assert ("choice", "5 seconds") in USED


def test_the_template_is_up_to_date_with_the_code() -> None:
    template = _entries(_read(LOCALES_DIR / "reelbot.pot"))
    assert sorted(USED.keys() - template.keys(), key=str) == [], "run pybabel extract (README)"
    assert sorted(template.keys() - USED.keys(), key=str) == [], "run pybabel extract (README)"


def test_every_message_is_named_by_where_it_goes_and_fits_there() -> None:
    too_long = [
        (context, msgid)
        for (context, msgid), forms in USED.items()
        if any(len(f) > i18n.LIMITS[context or "message"] for f in forms)
    ]
    assert {context or "message" for context, _ in USED} <= i18n.LIMITS.keys()
    assert too_long == []


def test_placeholders_in_the_source_are_named() -> None:
    positional = [
        msgid
        for forms in USED.values()
        for msgid in forms
        if any(name == "" or name.isdigit() for name in _fields(msgid))
    ]
    assert positional == []


@pytest.mark.parametrize("language", i18n.TRANSLATED)
def test_catalogue_is_complete_exact_and_within_discord_limits(language: str) -> None:
    catalog = _read(po_path(language))
    assert catalog.plural_forms == PLURAL_FORMS[language]
    entries = _entries(catalog)
    problems: list[str] = []
    for key, forms in USED.items():
        context = key[0]
        entry = entries.get(key)
        if entry is None:
            problems.append(f"missing: {key}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {key}")
        translations = _forms(entry.string)
        expected_forms = catalog.num_plurals if len(forms) > 1 else 1
        if len(translations) != expected_forms or not all(t.strip() for t in translations):
            problems.append(f"empty or wrong number of forms: {key}")
        wanted = set().union(*(_fields(f) for f in forms))
        for text in translations:
            if _fields(text) != wanted:
                problems.append(f"placeholders {_fields(text)} instead of {wanted}: {key}")
            if len(text) > i18n.LIMITS[context or "message"]:
                problems.append(f"{len(text)} characters, over the limit: {key}")
    stale = sorted(entries.keys() - USED.keys(), key=str)
    assert problems == []
    assert stale == [], "run pybabel update (README)"
