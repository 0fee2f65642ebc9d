"""A per-server prompt filter: word rules and regular-expression rules. Pure Python, no Discord.

Both kinds of rule are matched against the *normalized* prompt (see `normalize`): casefolded,
Unicode NFKD, accents and other combining marks removed, invisible characters (zero-width
spaces and joiners, soft hyphens, other format characters) removed, every whitespace character
turned into a plain space, and a few Cyrillic/Greek letters that look like Latin ones mapped to
those Latin letters. So "CAFÉ", "cafe\u0301" and "c\u200bafe" all read "cafe".

- A word rule is a literal word or phrase, normalized the same way. It matches only on word
  boundaries ("cat" blocks "a Cat!" but not "category"), the words of a phrase match across any
  run of whitespace, and regex metacharacters are literal ("c++" means c, plus, plus).
- A regex rule is searched case-insensitively in the normalized prompt, so write it in lower case
  without accents (non-ASCII letters written in the pattern are normalized like the prompt, so
  "café" works too). It runs on the `regex` engine with a timeout, so no pattern can hang the
  bot: a search that runs out of time counts as a match (fail closed) and is reported as
  `TIMEOUT_EXCERPT`.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, Protocol

import regex  # type: ignore[import-untyped, unused-ignore]

from bot.core.i18n import Wording, later

log = logging.getLogger(__name__)

MAX_WORD_CHARS: Final = 100
MAX_REGEX_CHARS: Final = 200
# Prompts are at most 800 characters; anything past this is not looked at.
MAX_PROMPT_CHARS: Final = 1_000
MAX_EXCERPT_CHARS: Final = 40
TIMEOUT_EXCERPT: Final = "(pattern took too long)"

RuleKind = Literal["word", "regex"]


@dataclass(frozen=True, slots=True)
class FilterRule:
    """One rule of a server's filter, as stored."""

    id: int  # database id, shown to admins
    kind: RuleKind
    pattern: str


@dataclass(frozen=True, slots=True)
class FilterMatch:
    """Why a prompt was refused."""

    rule: FilterRule
    # The matched text as it appears in the prompt, at most MAX_EXCERPT_CHARS characters; or
    # TIMEOUT_EXCERPT when a regex ran out of time on this prompt.
    excerpt: str


class InvalidRule(ValueError):
    """A rule an admin may not add; `wording` says what is wrong, for that admin (translated
    when shown; the exception's own text is the English)."""

    def __init__(self, wording: Wording) -> None:
        self.wording = wording
        super().__init__(wording.english())


# --- normalization ---------------------------------------------------------------------------

# Characters that render as nothing (or as blank space inside a word) but are not format
# characters or combining marks with a non-zero class, which are dropped by category.
_INVISIBLE: Final = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # hangul fillers
    "\u180b\u180c\u180d\u180f"  # mongolian variation selectors
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))  # variation selectors
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))  # variation selectors supplement
)

# Lower-case letters (after casefolding) that look like Latin letters in common fonts, either
# themselves or as capitals. Deliberately short: every entry is also a false-positive risk.
_CONFUSABLES: Final = str.maketrans(
    {
        # Cyrillic
        "\u0430": "a",
        "\u0432": "b",
        "\u0435": "e",
        "\u043a": "k",
        "\u043c": "m",
        "\u043d": "h",
        "\u043e": "o",
        "\u0440": "p",
        "\u0441": "c",
        "\u0442": "t",
        "\u0443": "y",
        "\u0445": "x",
        "\u0455": "s",
        "\u0456": "i",
        "\u0458": "j",
        "\u04bb": "h",
        "\u04cf": "l",
        "\u0501": "d",
        "\u051b": "q",
        "\u051d": "w",
        # Greek
        "\u03b1": "a",
        "\u03b2": "b",
        "\u03b5": "e",
        "\u03b7": "h",
        "\u03b9": "i",
        "\u03ba": "k",
        "\u03bc": "m",
        "\u03bd": "v",
        "\u03bf": "o",
        "\u03c1": "p",
        "\u03c4": "t",
        "\u03c5": "u",
        "\u03c7": "x",
        # Latin lookalikes
        "\u0131": "i",  # dotless i
        "\u0261": "g",  # script g
        # apostrophes
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
    }
)


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    """Normalize one character. Normalization is context-free, so text folds char by char."""
    if char.isspace():
        return " "
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    kept = "".join(
        c
        for c in folded
        if not unicodedata.combining(c) and unicodedata.category(c) != "Cf" and c not in _INVISIBLE
    )
    return " " if kept.isspace() else kept.translate(_CONFUSABLES)


def normalize(text: str) -> str:
    """The form prompts and rules are compared in.

    Casefolded, Unicode NFKD, combining marks (accents) dropped, invisible characters (U+200B..
    U+200D, U+2060, U+FEFF, soft hyphen, other format characters, variation selectors) dropped,
    whitespace turned into plain spaces, a few Cyrillic/Greek lookalikes turned into Latin.
    """
    return "".join(_fold_char(c) for c in text)


def _normalize_with_origins(text: str) -> tuple[str, list[int]]:
    """`normalize(text)`, and for each of its characters the index in `text` it came from."""
    parts: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        parts.append(folded)
        origins.extend([index] * len(folded))
    return "".join(parts), origins


# --- compiling rules -------------------------------------------------------------------------

# `regex` ships no type information; these are the parts of it used here.


class _Match(Protocol):
    def span(self) -> tuple[int, int]: ...


class _Pattern(Protocol):
    def search(
        self, string: str, *, concurrent: bool | None = ..., timeout: float | None = ...
    ) -> _Match | None: ...


_REGEX_FLAGS: Final[int] = regex.IGNORECASE | regex.FULLCASE
# Texts a regex rule is tried on when it is added: none may give an empty match (the rule would
# match every prompt), and not all the one-character ones may match (same).
_EMPTY_PROBES: Final = ("", " ", "a", "hello world 123", "x-y.z!")
_ANY_CHAR_PROBES: Final = ("a", "z", "7", " ", ".", "-")
_PROBE_TIMEOUT: Final = 0.2


def _compile(pattern: str, flags: int = 0) -> _Pattern:
    compiled: _Pattern = regex.compile(pattern, flags)
    return compiled


def _fold_pattern(pattern: str) -> str:
    """Normalize the non-ASCII letters of a regex the way prompts are normalized.

    ASCII is left alone (escapes and syntax are ASCII; case is handled by IGNORECASE), as is any
    character whose normalized form is not plain letters and digits, so folding cannot add
    regex syntax.
    """
    out: list[str] = []
    previous = ""
    for char in pattern:
        if char.isascii() or previous == "\\":
            out.append(char)
        else:
            folded = _fold_char(char)
            out.append(folded if folded in ("", " ") or folded.isalnum() else char)
        previous = char
    return "".join(out)


def _word_pattern(word: str) -> str:
    words = normalize(word).split()
    if not words:
        raise InvalidRule(later("reply", "a word may not be empty"))
    # Lookarounds rather than \b so that words starting or ending in punctuation ("c++") work.
    return r"(?<!\w)" + r"\s+".join(regex.escape(w) for w in words) + r"(?!\w)"


def _compile_regex(source: str) -> _Pattern:
    try:
        _compile(source, _REGEX_FLAGS)
        compiled = _compile(_fold_pattern(source), _REGEX_FLAGS)
    except regex.error as exc:
        if exc.pos is None:
            raise InvalidRule(
                later("reply", "regular expression error: {error}", error=exc.msg)
            ) from None
        raise InvalidRule(
            later(
                "reply",
                "regular expression error at position {position}: {error}",
                position=exc.pos,
                error=exc.msg,
            )
        ) from None
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:
        raise InvalidRule(
            later("reply", "regular expression error: {error}", error=str(exc))
        ) from None
    try:
        for probe in _EMPTY_PROBES:
            match = compiled.search(probe, timeout=_PROBE_TIMEOUT)
            if match is not None and match.span()[0] == match.span()[1]:
                raise InvalidRule(
                    later(
                        "reply",
                        "this regular expression can match empty text, so it would block every "
                        "prompt",
                    )
                )
        if all(
            compiled.search(probe, timeout=_PROBE_TIMEOUT) is not None for probe in _ANY_CHAR_PROBES
        ):
            raise InvalidRule(
                later(
                    "reply",
                    "this regular expression matches any character, so it would block every prompt",
                )
            )
    except TimeoutError:
        raise InvalidRule(later("reply", "this regular expression is too slow")) from None
    return compiled


def _clean(kind: str, pattern: str) -> tuple[str, _Pattern]:
    """The cleaned pattern and its compiled form, or InvalidRule."""
    cleaned = pattern.strip()
    if kind == "word":
        if not cleaned:
            raise InvalidRule(later("reply", "a word may not be empty"))
        if len(cleaned) > MAX_WORD_CHARS:
            raise InvalidRule(
                later("reply", "words are limited to {most} characters", most=MAX_WORD_CHARS)
            )
        return cleaned, _compile(_word_pattern(cleaned))
    if kind == "regex":
        if not cleaned:
            raise InvalidRule(later("reply", "a regular expression may not be empty"))
        if len(cleaned) > MAX_REGEX_CHARS:
            raise InvalidRule(
                later("reply", "patterns are limited to {most} characters", most=MAX_REGEX_CHARS)
            )
        return cleaned, _compile_regex(cleaned)
    raise InvalidRule(
        later("reply", "unknown rule kind {kind}: use 'word' or 'regex'", kind=repr(kind))
    )


def validate_rule(kind: str, pattern: str) -> str:
    """The pattern to store for a new rule (stripped), or InvalidRule saying what is wrong.

    Words: 1-100 characters, may be a phrase. Regexes: 1-200 characters, must compile, and must
    not be able to match empty text or any single character (it would block every prompt).
    """
    cleaned, _ = _clean(kind, pattern)
    return cleaned


# --- the filter ------------------------------------------------------------------------------


def _excerpt(prompt: str, origins: list[int], start: int, end: int) -> str:
    """The prompt text that normalized to [start, end), at most MAX_EXCERPT_CHARS long."""
    if end > start:
        text = prompt[origins[start] : origins[end - 1] + 1]
    else:  # a zero-width match (a lookaround); show what follows it
        text = prompt[origins[start] :] if start < len(origins) else ""
        text = text[:MAX_EXCERPT_CHARS]
    if len(text) > MAX_EXCERPT_CHARS:
        text = text[: MAX_EXCERPT_CHARS - 1] + "…"
    return text


class PromptFilter:
    """A server's rules, compiled once; `check` each prompt before it costs anything.

    Rules that fail `validate_rule` (stored before a limit changed, say) are left out, logged,
    and listed in `skipped` with the reason. Each rule's search is limited to `regex_timeout`
    seconds, so `check` takes at most about (number of rules) x `regex_timeout`; the engine
    releases the GIL while it searches, so calling `check` through `asyncio.to_thread` keeps the
    event loop free.
    """

    def __init__(self, rules: Iterable[FilterRule], *, regex_timeout: float = 0.05) -> None:
        if not regex_timeout > 0:
            raise ValueError("regex_timeout must be positive")
        self._timeout = regex_timeout
        words: list[tuple[FilterRule, _Pattern]] = []
        regexes: list[tuple[FilterRule, _Pattern]] = []
        skipped: list[tuple[FilterRule, str]] = []
        for rule in rules:
            try:
                _, compiled = _clean(rule.kind, rule.pattern)
            except InvalidRule as exc:
                log.warning("prompt filter rule %d skipped: %s", rule.id, exc)
                skipped.append((rule, str(exc)))
                continue
            (words if rule.kind == "word" else regexes).append((rule, compiled))
        self._rules: tuple[tuple[FilterRule, _Pattern], ...] = (*words, *regexes)
        self.skipped: tuple[tuple[FilterRule, str], ...] = tuple(skipped)

    def check(self, prompt: str) -> FilterMatch | None:
        """The first rule the prompt breaks (word rules first, then regexes, each in the order
        given), or None. Only the first MAX_PROMPT_CHARS characters are looked at."""
        text = prompt[:MAX_PROMPT_CHARS]
        normalized, origins = _normalize_with_origins(text)
        for rule, pattern in self._rules:
            try:
                match = pattern.search(normalized, concurrent=True, timeout=self._timeout)
            except TimeoutError:
                log.warning("prompt filter rule %d timed out; prompt refused", rule.id)
                return FilterMatch(rule, TIMEOUT_EXCERPT)
            if match is not None:
                start, end = match.span()
                return FilterMatch(rule, _excerpt(text, origins, start, end))
        return None
