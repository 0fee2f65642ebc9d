"""What members and admins read about saved preferences, in their language."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.i18n import translate
from bot.core.preferences.models import Delivery
from bot.core.preferences.resolve import Level, PreferenceUnsaveable, PreferenceUnsupported
from bot.core.preferences.store import OPTIONS, Values
from providers import ProviderName


def shown(option: str, value: object, locale: str | None) -> str:
    """One value as a member reads it (option names stay English, like the commands')."""
    match option, value:
        case _, None:
            return translate(locale, "not set", context="message")
        case "provider", str() if value in {p.value for p in ProviderName}:
            return ProviderName(value).label
        case "duration", _:
            return translate(locale, "{seconds} s", context="message", seconds=value)
        case "delivery", Delivery.DM.value:
            return translate(locale, "by direct message", context="message")
        case "delivery", Delivery.CHANNEL.value:
            return translate(locale, "in the channel", context="message")
        case _:
            return str(value)


def listing(values: Values, locale: str | None) -> str:
    """One line per option: ``provider: RunComfy``."""
    return "\n".join(
        f"- `{option}`: {shown(option, getattr(values, option), locale)}" for option in OPTIONS
    )


def _accepted(option: str, accepted: Sequence[object], locale: str | None) -> str:
    return ", ".join(shown(option, item, locale) for item in accepted) or "-"


def unsupported_text(refusal: PreferenceUnsupported, locale: str | None) -> str:
    """A saved value the job's provider cannot honour: which one, whose, and what to do."""
    params = {
        "option": refusal.option,
        "value": shown(refusal.option, refusal.value, locale),
        "provider": refusal.provider.label,
        "accepted": _accepted(refusal.option, refusal.accepted, locale),
    }
    if refusal.option == "provider":
        if refusal.level is Level.CHANNEL:
            return translate(
                locale,
                "This channel's default provider ({value}) isn't available to you here; "
                "choose {accepted} in the command. Nothing was charged.",
                context="message",
                **params,
            )
        return translate(
            locale,
            "Your saved provider ({value}) isn't available to you here; choose {accepted} in "
            "the command, or change it with /settings. Nothing was charged.",
            context="message",
            **params,
        )
    if refusal.level is Level.CHANNEL:
        return translate(
            locale,
            "This channel's default {option} ({value}) isn't available with {provider} for "
            "this kind of video, which offers {accepted}. Choose {option} in the command, or "
            "ask an admin to change /channel-defaults. Nothing was charged.",
            context="message",
            **params,
        )
    return translate(
        locale,
        "Your saved {option} ({value}) isn't available with {provider} for this kind of "
        "video, which offers {accepted}. Choose {option} in the command, or change it with "
        "/settings. Nothing was charged.",
        context="message",
        **params,
    )


def unsaveable_text(refusal: PreferenceUnsaveable, locale: str | None) -> str:
    return translate(
        locale,
        "{value} can't be saved as {option}: no provider you chose here makes it. "
        "Available: {accepted}. Nothing was saved.",
        context="message",
        option=refusal.option,
        value=shown(refusal.option, refusal.value, locale),
        accepted=_accepted(refusal.option, refusal.accepted, locale),
    )
