"""Which value each option of a new job takes: the command's, then the member's saved one,
then the channel's default, then the server's (its default provider), then the provider's own
default. A saved value the provider cannot honour is refused with its origin named, before
anything is charged, never sent to the provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.core.errors import Refused
from bot.core.preferences.models import Delivery
from bot.core.preferences.store import Saved, Values
from providers import Mode, Provider, ProviderName, UnsupportedOption


class Level(StrEnum):
    COMMAND = "command"
    MEMBER = "member"
    CHANNEL = "channel"
    SERVER = "server"
    PROVIDER = "provider"


@dataclass(frozen=True, slots=True)
class Filled:
    values: Values  # what the job asks for; None still means "the provider's default"
    sources: Mapping[str, Level]  # where each option's value came from
    delivery: Delivery


class PreferenceUnsupported(Refused):
    """A saved value (the member's, or the channel's) that the job's provider cannot honour
    for this kind of video. Nothing was charged."""

    def __init__(
        self,
        *,
        option: str,
        value: object,
        level: Level,
        provider: ProviderName,
        mode: Mode,
        accepted: Sequence[object],
    ) -> None:
        self.option = option
        self.value = value
        self.level = level
        self.provider = provider
        self.mode = mode
        self.accepted = tuple(accepted)
        super().__init__(f"saved {level.value} {option}={value} unsupported by {provider.value}")


class PreferenceUnsaveable(Refused):
    """A value no configured provider (or not the chosen one) can make in any mode."""

    def __init__(self, *, option: str, value: object, accepted: Sequence[object]) -> None:
        self.option = option
        self.value = value
        self.accepted = tuple(accepted)
        super().__init__(f"{option}={value} is made by no provider")


def fill(*, mode: Mode, asked: Values, saved: Saved) -> Filled:
    """Fill what the command left out from the member's values, then the channel's. The
    aspect ratio is a text-to-video choice only: an animated image keeps the image's shape."""
    values: dict[str, object] = {}
    sources: dict[str, Level] = {}
    for option in ("provider", "aspect_ratio", "duration", "resolution"):
        levels = [(Level.COMMAND, asked)]
        if option != "aspect_ratio" or mode is Mode.TEXT:
            levels += [(Level.MEMBER, saved.member), (Level.CHANNEL, saved.channel)]
        for level, source in levels:
            value = getattr(source, option)
            if value is not None:
                values[option], sources[option] = value, level
                break
    delivery = saved.member.delivery or saved.channel.delivery or Delivery.CHANNEL
    return Filled(
        values=Values(**values),  # type: ignore[arg-type]
        sources=sources,
        delivery=Delivery(delivery),
    )


def refuse_saved(
    error: UnsupportedOption, filled: Filled, *, provider: ProviderName, mode: Mode
) -> None:
    """Raise `PreferenceUnsupported` when the value the provider refused was a saved one."""
    level = filled.sources.get(error.option)
    if level in (Level.MEMBER, Level.CHANNEL):
        raise PreferenceUnsupported(
            option=error.option,
            value=error.value,
            level=level,
            provider=provider,
            mode=mode,
            accepted=error.accepted,
        ) from error


def check_saveable(
    values: Values,
    *,
    providers: Mapping[ProviderName, Provider],
    order: Sequence[ProviderName],
) -> None:
    """Refuse a value to be saved that the chosen provider (or, with none chosen, every
    configured one) makes in no mode: it could never be used."""
    chosen = [ProviderName(values.provider)] if values.provider else list(order)
    candidates = [providers[name] for name in chosen if name in providers]
    if values.provider and not candidates:
        raise PreferenceUnsaveable(
            option="provider", value=values.provider, accepted=[p.value for p in order]
        )
    for option in ("aspect_ratio", "duration", "resolution"):
        value = getattr(values, option)
        if value is None:
            continue
        modes = (Mode.TEXT,) if option == "aspect_ratio" else tuple(Mode)
        accepted: list[object] = []
        for provider in candidates:
            for mode in modes:
                for item in getattr(provider.capabilities(mode), f"{option}s"):
                    if item not in accepted:
                        accepted.append(item)
        if value not in accepted:
            raise PreferenceUnsaveable(option=option, value=value, accepted=accepted)
