"""Who may generate where and how much: the admission decision, with no Discord in it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlmodel import Session

from bot.core.bounded import bounded_join
from bot.core.errors import Refusal
from bot.core.guild import store
from bot.core.guild.models import BlockedMember, GuildConfig, QuotaTier, Window
from bot.core.i18n import later, number
from bot.core.moderation import FilterRule, PromptFilter
from bot.core.quotas import QuotaPolicy
from providers import ProviderName

RESOLUTION_RANK = {"720P": 0, "1080P": 1}


@dataclass(frozen=True, slots=True)
class GuildRules:
    """Everything about a server that decides one member's request, read in one go."""

    config: GuildConfig
    tiers: Sequence[QuotaTier]
    block: BlockedMember | None
    filter: PromptFilter


def load_rules(session: Session, *, guild_id: int, user_id: int) -> GuildRules:
    rows = store.rules(session=session, guild_id=guild_id)
    return GuildRules(
        config=store.config(session=session, guild_id=guild_id),
        tiers=store.tiers(session=session, guild_id=guild_id),
        block=store.blocked(session=session, guild_id=guild_id, user_id=user_id),
        filter=PromptFilter(
            FilterRule(id=row.id or 0, kind=row.kind, pattern=row.pattern)  # type: ignore[arg-type]
            for row in rows
        ),
    )


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: int
    role_ids: frozenset[int]
    channel_id: int
    channel_nsfw: bool


@dataclass(frozen=True, slots=True)
class Admission:
    policy: QuotaPolicy
    budget: int | None
    review: bool
    providers: tuple[ProviderName, ...]  # allowed here, in preference order
    max_duration: int
    max_resolution: str
    tier_name: str | None


# A refusal is one message (2000 characters) and may follow a few lines (/quota): lists in it
# get at most this much room ("… and 9 more").
LISTED = 1500


def _channels(ids: Sequence[int]) -> Callable[[str | None], str]:
    """The channels, listed once the reader's language is known ("… and 9 more")."""
    return lambda locale: bounded_join([f"<#{i}>" for i in ids], limit=LISTED, locale=locale)


def _roles(ids: Sequence[int]) -> Callable[[str | None], str]:
    return lambda locale: bounded_join([f"<@&{i}>" for i in ids], limit=LISTED, locale=locale)


def best_tier(tiers: Sequence[QuotaTier], roles: frozenset[int], guild_id: int) -> QuotaTier | None:
    """The most generous tier among the member's roles (and @everyone, whose id is the
    server's): the highest limit, then the longest clips, then the best resolution."""
    mine = [t for t in tiers if t.role_id in roles or t.role_id == guild_id]
    if not mine:
        return None
    return max(
        mine,
        key=lambda t: (
            t.limit,
            t.max_duration,
            RESOLUTION_RANK.get(t.max_resolution, 0),
            -len(t.providers) if t.providers else 0,
        ),
    )


def admit(
    *,
    config: GuildConfig,
    tiers: Sequence[QuotaTier],
    block: BlockedMember | None,
    who: Requester,
    base: QuotaPolicy,
    configured: Sequence[ProviderName],
) -> Admission:
    """Raise Refusal, or say under which terms this member may generate in this channel."""
    if block is not None:
        if block.reason:
            raise Refusal(
                "blocked",
                later("reply", "You can't make videos on this server: {quoted}."),
                quoted=block.reason,
            )
        raise Refusal("blocked", later("reply", "You can't make videos on this server."))
    if config.allowed_channel_ids and who.channel_id not in config.allowed_channel_ids:
        raise Refusal(
            "channel",
            later(
                "reply",
                "Videos can't be made in this channel. Use {channels}.",
                channels=_channels(config.allowed_channel_ids),
            ),
        )
    if config.nsfw_channels_only and not who.channel_nsfw:
        raise Refusal(
            "nsfw_channel",
            later("reply", "On this server videos can only be made in age-restricted channels."),
        )
    if config.allowed_role_ids and not (who.role_ids & set(config.allowed_role_ids)):
        raise Refusal(
            "role",
            later(
                "reply",
                "You need one of these roles to make videos: {roles}.",
                roles=_roles(config.allowed_role_ids),
            ),
        )
    tier = best_tier(tiers, who.role_ids, config.guild_id)
    enabled = [p for p in configured if p.value not in config.disabled_providers]
    if tier is not None and tier.providers:
        enabled = [p for p in enabled if p.value in tier.providers]
    if config.default_provider in [p.value for p in enabled]:
        default = ProviderName(config.default_provider)
        enabled = [default, *[p for p in enabled if p is not default]]
    if not enabled:
        raise Refusal(
            "provider", later("reply", "No video provider is available to you on this server.")
        )
    review = config.approval_everywhere or who.channel_id in config.approval_channel_ids
    if review and config.review_channel_id is None:
        raise Refusal(
            "misconfigured",
            later(
                "reply",
                "This channel needs a moderator's approval, but no review channel is set. "
                "Ask an admin to set one with /reelbot review channel.",
            ),
        )
    policy = base
    if tier is not None:
        policy = QuotaPolicy(
            limit=tier.limit,
            window_seconds=base.window_seconds,
            max_in_flight=base.max_in_flight,
            cost_5s=base.cost_5s,
            cost_10s=base.cost_10s,
            daily=tier.window is Window.DAILY,
        )
    return Admission(
        policy=policy,
        budget=config.daily_budget,
        review=review,
        providers=tuple(enabled),
        max_duration=tier.max_duration if tier else 10,
        max_resolution=tier.max_resolution if tier else "1080P",
        tier_name=f"<@&{tier.role_id}>" if tier else None,
    )


def check_options(
    admission: Admission, *, provider: ProviderName, duration: int, resolution: str
) -> None:
    if provider not in admission.providers:
        allowed = " or ".join(p.label for p in admission.providers)
        raise Refusal(
            "provider",
            later(
                "reply",
                "{provider} isn't available to you here; choose {allowed}.",
                provider=provider.label,
                allowed=allowed,
            ),
        )
    if duration > admission.max_duration:
        seconds = admission.max_duration
        raise Refusal(
            "tier_duration",
            later(
                "reply",
                "Your tier allows clips of up to {seconds} s; choose a shorter duration.",
                seconds=lambda locale: number(locale, seconds),
            ),
        )
    if RESOLUTION_RANK.get(resolution, 0) > RESOLUTION_RANK.get(admission.max_resolution, 1):
        raise Refusal(
            "tier_resolution",
            later(
                "reply",
                "Your tier allows up to {resolution}; choose a lower resolution.",
                resolution=admission.max_resolution,
            ),
        )
