"""A job's stored reason (`Job.error`: why it failed, was cancelled or rejected) in the
language of its public posts.

The core stores its reasons in English, and a stored reason may be shown long after, by any
process, in a language chosen per server: so they are translated where they are shown. The
reasons the bot writes itself are recognised here (by their exact English text, or a pattern
for those carrying a value); a provider's own words, and anything not recognised, are shown
as they are."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.core.i18n import translate

Locale = str | None
Wording = Callable[[Locale, re.Match[str]], str]


def _fixed(locale: Locale, text: str) -> str | None:
    """The reasons without a value, each spelled once for the extractor."""
    match text:
        case "cancelled by the requester":
            return translate(locale, "cancelled by the requester", context="field_value")
        case "cancelled by a moderator":
            return translate(locale, "cancelled by a moderator", context="field_value")
        case "cancelled at the provider":
            return translate(locale, "cancelled at the provider", context="field_value")
        case "rejected by a moderator":
            return translate(locale, "rejected by a moderator", context="field_value")
        case "no moderator reviewed it in time":
            return translate(locale, "no moderator reviewed it in time", context="field_value")
        case "the review channel is not available":
            return translate(locale, "the review channel is not available", context="field_value")
        case "I can't post in that channel any more":
            return translate(locale, "I can't post in that channel any more", context="field_value")
        case "a moderator discarded the video after the provider flagged it":
            return translate(
                locale,
                "a moderator discarded the video after the provider flagged it",
                context="field_value",
            )
        case "the provider flagged the video as not safe for work, and this server discards those":
            return translate(
                locale,
                "the provider flagged the video as not safe for work, "
                "and this server discards those",
                context="field_value",
            )
        case "the provider's content filter refused this request":
            return translate(
                locale,
                "the provider's content filter refused this request",
                context="field_value",
            )
        case "the provider could not fetch the image; try again with a fresh upload":
            return translate(
                locale,
                "the provider could not fetch the image; try again with a fresh upload",
                context="field_value",
            )
        case "the finished video could not be fetched":
            return translate(
                locale, "the finished video could not be fetched", context="field_value"
            )
        case "the image is no longer available on Discord, so nothing was sent":
            return translate(
                locale,
                "the image is no longer available on Discord, so nothing was sent",
                context="field_value",
            )
        case "something went wrong before it was sent; nothing was sent":
            return translate(
                locale,
                "something went wrong before it was sent; nothing was sent",
                context="field_value",
            )
        case "something kept going wrong while posting the video":
            return translate(
                locale,
                "something kept going wrong while posting the video",
                context="field_value",
            )
        case "the bot restarted while sending this job; an admin will check it":
            return translate(
                locale,
                "the bot restarted while sending this job; an admin will check it",
                context="field_value",
            )
        case "the provider did not confirm the job; an admin will check it":
            return translate(
                locale,
                "the provider did not confirm the job; an admin will check it",
                context="field_value",
            )
        case "no review channel is set for flagged videos":
            return translate(
                locale, "no review channel is set for flagged videos", context="field_value"
            )
        case "the review channel refused the flagged video":
            return translate(
                locale, "the review channel refused the flagged video", context="field_value"
            )
        case "Discord kept refusing the video; please try again later":
            return translate(
                locale,
                "Discord kept refusing the video; please try again later",
                context="field_value",
            )
        case (
            "I can't post in this channel: I need the View Channel, Send Messages, Embed Links, "
            "Attach Files and Read Message History permissions here. Ask an admin to grant them"
        ):
            return translate(
                locale,
                "I can't post in this channel: I need the View Channel, Send Messages, Embed "
                "Links, Attach Files and Read Message History permissions here. Ask an admin "
                "to grant them",
                context="field_value",
            )
    return None


#: Reasons that carry a value: the pattern of the English text, and its wording.
_WITH_VALUES: tuple[tuple[re.Pattern[str], Wording], ...] = (
    (
        re.compile(r"rejected by a moderator: (?P<reason>.+)", re.DOTALL),
        lambda locale, m: translate(
            locale,
            "rejected by a moderator: {reason}",
            context="field_value",
            reason=m["reason"],
        ),
    ),
    (
        re.compile(r"no result after (?P<minutes>\d+) minutes; an admin will check it"),
        lambda locale, m: translate(
            locale,
            "no result after {minutes} minutes; an admin will check it",
            context="field_value",
            minutes=m["minutes"],
        ),
    ),
    (
        re.compile(
            r"(?P<provider>[\w .-]+) is having trouble right now; try again in a few minutes"
        ),
        lambda locale, m: translate(
            locale,
            "{provider} is having trouble right now; try again in a few minutes",
            context="field_value",
            provider=m["provider"],
        ),
    ),
    (
        re.compile(r"(?P<provider>[\w .-]+) could not make this video: (?P<reason>.+)", re.DOTALL),
        lambda locale, m: translate(
            locale,
            "{provider} could not make this video: {reason}",
            context="field_value",
            provider=m["provider"],
            reason=m["reason"],
        ),
    ),
    (
        re.compile(
            r"(?P<provider>[\w .-]+) could not make this video \((?P<reason>.+)\)", re.DOTALL
        ),
        lambda locale, m: translate(
            locale,
            "{provider} could not make this video ({reason})",
            context="field_value",
            provider=m["provider"],
            reason=m["reason"],
        ),
    ),
)


def reason_shown(locale: Locale, text: str) -> str:
    """`text` in the locale's language when it is one of the bot's own reasons, else as is."""
    fixed = _fixed(locale, text)
    if fixed is not None:
        return fixed
    for pattern, wording in _WITH_VALUES:
        found = pattern.fullmatch(text)
        if found is not None:
            return wording(locale, found)
    return text
