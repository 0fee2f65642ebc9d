"""Numbers, durations and times in the reader's locale (Babel, CLDR data)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal

from bot.core.i18n.locales import babel_locale

Width = Literal["narrow", "short", "long"]


def number(locale: str | None, value: float) -> str:
    """1234.5 as "1,234.5" (en), "1 234,5" (fr) or "1,234.5" (ja)."""
    return format_decimal(value, locale=babel_locale(locale))


def duration(locale: str | None, seconds: float, *, width: Width = "long") -> str:
    """A length of time in its largest sensible unit: "10 seconds", "10 secondes", "10 秒"."""
    return format_timedelta(
        dt.timedelta(seconds=seconds), locale=babel_locale(locale), format=width, threshold=1.0
    )


def moment(locale: str | None, when: dt.datetime, *, width: str = "medium") -> str:
    """A date and time in the locale's own pattern, in the time zone `when` carries."""
    return format_datetime(when, format=width, tzinfo=when.tzinfo, locale=babel_locale(locale))
