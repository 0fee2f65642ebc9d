"""Why a job failed, was cancelled or was rejected: the reasons the bot gives itself, each
spelled once, here.

A job stores its reason as English text (`Job.error`), which is also the message's id in the
catalogues: any process can show it later, in the language of the post it goes in, and the
audit log and the logs keep the English. `stored` writes a reason; `shown` reads one back in
a reader's language, recognising the bot's own reasons (those with values by the shape of
their English text) and leaving a provider's or a moderator's own words as written."""

from __future__ import annotations

import re
import string
from functools import cache

from bot.core.i18n import Wording, later

# Every reason goes in a status, result or review message's field value (1,024 characters):
# the context is spelled out in each, as the extractor reads it from the call.

CANCELLED_BY_REQUESTER = later("field_value", "cancelled by the requester")
CANCELLED_BY_MODERATOR = later("field_value", "cancelled by a moderator")
CANCELLED_AT_PROVIDER = later("field_value", "cancelled at the provider")
REJECTED = later("field_value", "rejected by a moderator")
REJECTED_BECAUSE = later("field_value", "rejected by a moderator: {reason}")
REVIEW_EXPIRED = later("field_value", "no moderator reviewed it in time")
REVIEW_CHANNEL_UNAVAILABLE = later("field_value", "the review channel is not available")
CHANNEL_UNPOSTABLE = later("field_value", "I can't post in that channel any more")
DISCARDED_BY_MODERATOR = later(
    "field_value", "a moderator discarded the video after the provider flagged it"
)
DISCARDED_AS_NSFW = later(
    "field_value",
    "the provider flagged the video as not safe for work, and this server discards those",
)
CONTENT_FILTER = later("field_value", "the provider's content filter refused this request")
IMAGE_NOT_FETCHABLE = later(
    "field_value", "the provider could not fetch the image; try again with a fresh upload"
)
PROVIDER_TROUBLE = later(
    "field_value", "{provider} is having trouble right now; try again in a few minutes"
)
PROVIDER_FAILED_SAYING = later("field_value", "{provider} could not make this video: {reason}")
PROVIDER_FAILED = later("field_value", "{provider} could not make this video ({reason})")
PROVIDER_GONE = later("field_value", "{provider} is no longer configured")
PROVIDER_GONE_UNKNOWN = later(
    "field_value", "{provider} is no longer configured; an admin will check this job"
)
NO_RESULT = later("field_value", "no result after {minutes} minutes; an admin will check it")
NOT_FETCHED = later("field_value", "the finished video could not be fetched")
IMAGE_GONE = later(
    "field_value", "the image is no longer available on Discord, so nothing was sent"
)
NOT_BUILDABLE = later("field_value", "this request can no longer be built, so nothing was sent")
IMAGE_NOT_SAVED = later("field_value", "its image was not saved")
NOT_SENDABLE = later("field_value", "this request could not be sent ({missing})")
RESTARTED_BEFORE_SET_UP = later(
    "field_value", "the bot restarted before this request was set up; nothing was sent"
)
RESTARTED_BEFORE_READY = later(
    "field_value", "the bot restarted before this request was set up ({missing}); nothing was sent"
)
CRASHED_BEFORE_SENDING = later(
    "field_value", "something went wrong before it was sent; nothing was sent"
)
CRASHED_WHILE_SENDING = later(
    "field_value", "something went wrong while sending this job; an admin will check it"
)
CRASHED_WHILE_WAITING = later(
    "field_value", "something kept going wrong while waiting for it; an admin will check it"
)
CRASHED_WHILE_POSTING = later("field_value", "something kept going wrong while posting the video")
RESTARTED_WHILE_SENDING = later(
    "field_value", "the bot restarted while sending this job; an admin will check it"
)
NOT_CONFIRMED = later("field_value", "the provider did not confirm the job; an admin will check it")
NO_REVIEW_CHANNEL = later("field_value", "no review channel is set for flagged videos")
REVIEW_CHANNEL_REFUSED = later("field_value", "the review channel refused the flagged video")
DISCORD_REFUSED = later("field_value", "Discord kept refusing the video; please try again later")
MISSING_PERMISSIONS = later(
    "field_value",
    "I can't post in this channel: I need the View Channel, Send Messages, Embed Links, "
    "Attach Files and Read Message History permissions here. Ask an admin to grant them",
)
JOINED_FORBIDDEN = later("field_value", "the bot may not post the joined video here")
JOINED_REFUSED = later("field_value", "Discord refused the joined video ({status})")
DISCORD_UNREACHABLE = later("field_value", "Discord could not be reached")
STATUS_FORBIDDEN = later("field_value", "the bot may not post in this channel")
STATUS_REFUSED = later("field_value", "Discord refused the status message")

#: The values that are themselves reasons of ours (`IMAGE_NOT_SAVED`).
_OURS = frozenset({"missing"})

#: Every reason above, in the order they are tried when one is read back.
KNOWN: tuple[Wording, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, Wording)
)


def stored(reason: Wording, /, **values: object) -> str:
    """The reason as the job keeps it: its English text (the message's id), with its values
    (no catalogue is read: English is the source)."""
    return reason.msgid.format_map(values) if values else reason.msgid


def _pattern(msgid: str) -> re.Pattern[str]:
    """The shape of a reason's English text: its words exactly, any text for each value."""
    parts: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(msgid):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(f"(?P<{name}>.+?)")
    return re.compile("".join(parts), re.DOTALL)


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], Wording], ...]:
    return tuple((_pattern(reason.msgid), reason) for reason in KNOWN if "{" in reason.msgid)


@cache
def _fixed() -> dict[str, Wording]:
    return {reason.msgid: reason for reason in KNOWN if "{" not in reason.msgid}


def recognised(text: str) -> tuple[Wording, dict[str, str]] | None:
    """The bot's own reason a stored text is, and its values; None for anyone else's words."""
    fixed = _fixed().get(text)
    if fixed is not None:
        return fixed, {}
    for pattern, reason in _patterns():
        found = pattern.fullmatch(text)
        if found is not None:
            return reason, found.groupdict()
    return None


def shown(locale: str | None, text: str) -> str:
    """A stored reason in a Discord locale's language when it is one of the bot's own, else
    as it is. Values are someone's own words, shown as written, except what a request lacks
    (``{missing}``), which is one of ours too."""
    known = recognised(text)
    if known is None:
        return text
    reason, values = known
    return reason.text(
        locale,
        **{name: shown(locale, v) if name in _OURS else v for name, v in values.items()},
    )
