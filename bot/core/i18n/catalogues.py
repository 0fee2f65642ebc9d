"""The gettext catalogues in bot/locales, compiled in memory when first needed.

Only the .po sources are kept in the repository: a compiled .mo is a binary that drifts from
its source unseen in review, and compiling three small catalogues takes milliseconds. Babel
reads each .po (fuzzy entries left out, as `pybabel compile` does) and writes the .mo into
memory, and the standard library's `gettext.GNUTranslations` answers lookups with the
catalogue's own plural rule."""

from __future__ import annotations

import functools
import gettext
import io
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

DOMAIN = "reelbot"
LOCALES_DIR = Path(__file__).resolve().parent.parent.parent / "locales"
#: The language the code is written in: every msgid is its English text.
SOURCE = "en"
#: The languages with a catalogue, besides the source.
TRANSLATED = ("fr", "ja")


def po_path(language: str, directory: Path = LOCALES_DIR) -> Path:
    return directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_po(path: Path) -> gettext.GNUTranslations:
    """One .po file as a ready translation table (fuzzy entries excluded)."""
    with path.open("rb") as source:
        catalog = read_po(source, abort_invalid=True)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def load(
    directory: Path = LOCALES_DIR, languages: tuple[str, ...] = TRANSLATED
) -> dict[str, gettext.GNUTranslations]:
    """Every translated language's table from a locales directory (a blocking read)."""
    return {language: compile_po(po_path(language, directory)) for language in languages}


@functools.cache
def catalogues() -> dict[str, gettext.GNUTranslations]:
    """The package's catalogues, read once per process (a blocking read: call it from a
    thread, or at start-up, before the event loop needs it)."""
    tables = load()
    log.info("loaded message catalogues: %s", ", ".join(sorted(tables)))
    return tables
