"""The per-server prompt filter: normalization, word boundaries, regex safety, rule validation."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.moderation import (
    MAX_PROMPT_CHARS,
    TIMEOUT_EXCERPT,
    FilterMatch,
    FilterRule,
    InvalidRule,
    PromptFilter,
    normalize,
    validate_rule,
)


def word(pattern: str, rule_id: int = 1) -> FilterRule:
    return FilterRule(id=rule_id, kind="word", pattern=pattern)


def rx(pattern: str, rule_id: int = 1) -> FilterRule:
    return FilterRule(id=rule_id, kind="regex", pattern=pattern)


def blocked(rule: FilterRule, prompt: str) -> bool:
    return PromptFilter([rule]).check(prompt) is not None


# --- normalize -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CAFÉ", "cafe"),
        ("cafe\u0301", "cafe"),
        ("Straße", "strasse"),
        ("c\u200ba\u200c\u200dt\u2060\ufeff", "cat"),
        ("soft\u00adhyphen", "softhyphen"),
        ("ｆｕｌｌ ｗｉｄｔｈ", "full width"),
        ("𝐛𝐨𝐥𝐝", "bold"),
        ("a\u00a0b\tc\nd", "a b c d"),
        ("\u0421\u0410\u0422", "cat"),  # Cyrillic capitals that look like C, A, T
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


# --- word rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["Cat!", "CÁT", "a cat.", "cat", "(cat)", "dog,cat,bird"])
def test_word_matches_on_word_boundaries(prompt: str) -> None:
    assert blocked(word("cat"), prompt)


@pytest.mark.parametrize("prompt", ["category", "concatenate", "scat", "cats", "cat_2", "c at"])
def test_word_does_not_match_inside_other_words(prompt: str) -> None:
    assert not blocked(word("cat"), prompt)


@pytest.mark.parametrize("prompt", ["CAFE", "cafe\u0301", "un café noir", "Café!"])
def test_word_is_accent_insensitive_both_ways(prompt: str) -> None:
    assert blocked(word("café"), prompt)
    assert blocked(word("cafe"), prompt)


@pytest.mark.parametrize("prompt", ["c\u200bat", "c\u00ada\u200dt", "\ufeffcat\u2060"])
def test_zero_width_characters_do_not_evade(prompt: str) -> None:
    assert blocked(word("cat"), prompt)


@pytest.mark.parametrize("prompt", ["red fox", "a RED   fox", "red\n\tfox", "red\u00a0fox"])
def test_phrase_matches_across_whitespace(prompt: str) -> None:
    assert blocked(word("red fox"), prompt)
    assert blocked(word("  red   fox "), prompt)


@pytest.mark.parametrize("prompt", ["redfox", "red-fox", "red foxes", "bored fox"])
def test_phrase_still_needs_its_words(prompt: str) -> None:
    assert not blocked(word("red fox"), prompt)


def test_metacharacters_are_literal() -> None:
    assert blocked(word("c++"), "I write C++ daily")
    assert not blocked(word("c++"), "I write c daily")
    assert not blocked(word("c++"), "abc++")
    assert blocked(word("a.b"), "see a.b now")
    assert not blocked(word("a.b"), "see axb now")
    assert not blocked(word("(x)"), "x")
    assert blocked(word("(x)"), "f (x) = 1")


def test_excerpt_is_the_original_text() -> None:
    match = PromptFilter([word("cafe")]).check("Un CAFÉ, s'il vous plaît")
    assert match == FilterMatch(rule=word("cafe"), excerpt="CAFÉ")
    match = PromptFilter([word("cat")]).check("a c\u200bat")
    assert match is not None
    assert match.excerpt == "c\u200bat"


def test_excerpt_is_at_most_40_characters() -> None:
    match = PromptFilter([rx("a+")]).check("b" + "a" * 300)
    assert match is not None
    assert len(match.excerpt) <= 40
    assert match.excerpt.startswith("aaaa")


def test_words_are_checked_before_regexes_then_in_order() -> None:
    rules = [rx("dog", 1), word("dog", 2), word("cat", 3)]
    match = PromptFilter(rules).check("cat and dog")
    assert match is not None
    assert match.rule.id == 2
    assert PromptFilter(rules).check("a hotdog") == FilterMatch(rules[0], "dog")
    assert PromptFilter(rules).check("a bird") is None
    assert PromptFilter([]).check("anything") is None


# --- regex rules -----------------------------------------------------------------------------


def test_regex_is_case_insensitive_and_sees_the_normalized_prompt() -> None:
    assert blocked(rx(r"\bgr[ae]y\b"), "A GREY wolf")
    assert blocked(rx(r"\bgr[ae]y\b"), "A G\u200bRÄY wolf")
    assert blocked(rx("NAKED"), "naked")
    assert not blocked(rx(r"\bgr[ae]y\b"), "greyhound")


def test_regex_written_with_accents_still_matches() -> None:
    assert blocked(rx("café"), "CAFE")
    assert blocked(rx("ß"), "STRASSE")


@pytest.mark.parametrize(
    ("pattern", "prompt"), [(r"(a+)+$", "a" * 799 + "!"), (r"(x+x+)+y", "x" * 800)]
)
def test_pathological_regex_times_out_and_blocks(pattern: str, prompt: str) -> None:
    prompt_filter = PromptFilter([rx(pattern, 7)], regex_timeout=0.05)
    started = time.perf_counter()
    match = prompt_filter.check(prompt)
    assert time.perf_counter() - started < 1.0
    assert match == FilterMatch(rule=rx(pattern, 7), excerpt=TIMEOUT_EXCERPT)


def test_only_the_first_characters_are_considered() -> None:
    assert not blocked(word("cat"), "x " * MAX_PROMPT_CHARS + "cat")


def test_invalid_stored_rules_are_skipped_not_fatal() -> None:
    good = word("cat", 2)
    prompt_filter = PromptFilter([rx("a*", 1), good, word("", 3)])
    assert [rule.id for rule, _ in prompt_filter.skipped] == [1, 3]
    assert prompt_filter.check("a cat") == FilterMatch(good, "cat")
    assert prompt_filter.check("aaa") is None


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PromptFilter([], regex_timeout=0)


# --- validate_rule ---------------------------------------------------------------------------


def test_validate_strips() -> None:
    assert validate_rule("word", "  red fox \n") == "red fox"
    assert validate_rule("regex", r" \bcat\b ") == r"\bcat\b"


@pytest.mark.parametrize(
    ("kind", "pattern", "message"),
    [
        ("word", "", "a word may not be empty"),
        ("word", "   ", "a word may not be empty"),
        ("word", "\u200b\u200b", "a word may not be empty"),
        ("word", "x" * 101, "words are limited to 100 characters"),
        ("regex", "", "may not be empty"),
        ("regex", "x" * 201, "patterns are limited to 200 characters"),
        ("regex", "ab(c", "regular expression error at position 4: missing )"),
        ("regex", "[a-", "regular expression error at position"),
        ("regex", "a*", "can match empty text"),
        ("regex", "cat|", "can match empty text"),
        ("regex", "^", "can match empty text"),
        ("regex", "(?=a)", "can match empty text"),
        ("regex", ".", "matches any character"),
        ("regex", r"[\s\S]", "matches any character"),
        ("phrase", "cat", "unknown rule kind"),
    ],
)
def test_validate_refuses(kind: str, pattern: str, message: str) -> None:
    with pytest.raises(InvalidRule, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_rule(kind, pattern)


def test_validate_accepts_limits() -> None:
    assert validate_rule("word", "x" * 100) == "x" * 100
    assert validate_rule("regex", "x" * 200) == "x" * 200
    assert validate_rule("regex", "(x+x+)+y") == "(x+x+)+y"


# --- properties ------------------------------------------------------------------------------

PROPERTY_FILTER = PromptFilter(
    [
        word("cat", 1),
        word("café noir", 2),
        word("c++", 3),
        rx(r"\bgr[ae]y\b", 4),
        rx(r"(x+x+)+y", 5),
        rx(r"(?<=a)b", 6),
    ],
    regex_timeout=0.01,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=1_200))
def test_check_never_raises(prompt: str) -> None:
    match = PROPERTY_FILTER.check(prompt)
    if match is not None:
        assert len(match.excerpt) <= 40


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(categories=["L", "M", "N", "Zs", "Cf"]), min_size=1, max_size=30
    ),
    st.sampled_from([" ", "! ", "\n"]),
)
def test_a_word_blocks_itself(text: str, separator: str) -> None:
    try:
        cleaned = validate_rule("word", text)
    except InvalidRule:
        return
    assert blocked(word(cleaned), f"before{separator}{text}{separator}after")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
