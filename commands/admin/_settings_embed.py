"""/reelbot settings: the server's rules in one embed, in the admin's own language."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.core import bounded
from bot.core.bounded import bounded_join
from bot.core.guild.models import GuildConfig, NsfwPolicy, QuotaTier
from bot.core.i18n import language_of, ngettext, number, translate
from bot.core.quota_policy import QuotaPolicy
from commands.admin._base import _channel, _list, _role, _window
from commands.admin._language import language_name
from providers import ProviderName

Locale = str | None


def settings_embed(
    locale: Locale,
    *,
    config: GuildConfig,
    tiers: Sequence[QuotaTier],
    rules: int,
    spent: int,
    base: QuotaPolicy,
    order: Sequence[ProviderName],
    server_locale: Locale = None,
) -> discord.Embed:
    """Seven fields, each list bounded to its field (1024), so the embed stays well under
    Discord's 6000 characters however many channels, roles and tiers a server has."""
    embed = discord.Embed(
        title=translate(locale, "Reelbot settings", context="reply_title"),
        colour=discord.Colour.blurple(),
    )
    embed.add_field(
        name=translate(locale, "Where", context="reply_field_name"),
        value=_where(locale, config),
        inline=False,
    )
    everyone = translate(locale, "everyone", context="reply")
    roles_line = translate(locale, "Roles: {roles}", context="reply_field_value", roles="")
    roles = _list(
        config.allowed_role_ids,
        "<@&{}>",
        everyone,
        limit=bounded.FIELD - len(roles_line),
        locale=locale,
    )
    embed.add_field(
        name=translate(locale, "Who", context="reply_field_name"),
        value=translate(locale, "Roles: {roles}", context="reply_field_value", roles=roles),
        inline=False,
    )
    embed.add_field(
        name=translate(locale, "How much", context="reply_field_name"),
        value=_how_much(locale, config, spent, base),
        inline=False,
    )
    embed.add_field(
        name=translate(locale, "Tiers", context="reply_field_name"),
        value=bounded_join(
            [_tier_line(locale, t) for t in tiers],
            sep="\n",
            limit=bounded.FIELD,
            locale=locale,
            empty=translate(locale, "No tiers.", context="reply_field_value"),
        ),
        inline=False,
    )
    embed.add_field(
        name=translate(locale, "Providers", context="reply_field_name"),
        value=_providers(locale, config, order),
        inline=False,
    )
    embed.add_field(
        name=translate(locale, "Moderation", context="reply_field_name"),
        value=_moderation(locale, config, rules),
        inline=False,
    )
    embed.add_field(
        name=translate(locale, "Language", context="reply_field_name"),
        value=_language(locale, config, server_locale),
        inline=False,
    )
    return embed


def _language(locale: Locale, config: GuildConfig, server_locale: Locale) -> str:
    """The language of the server's public posts (`/reelbot language`, else the server's
    preferred locale, else English), named in the admin's own."""
    if config.locale:
        return translate(
            locale,
            "Public posts: {language} (chosen with /reelbot language)",
            context="reply_field_value",
            language=language_name(config.locale, locale),
        )
    return translate(
        locale,
        "Public posts: {language} (the server's language)",
        context="reply_field_value",
        language=language_name(language_of(server_locale), locale),
    )


def _where(locale: Locale, config: GuildConfig) -> str:
    nsfw_only = (
        translate(locale, "Age-restricted channels only: yes", context="reply_field_value")
        if config.nsfw_channels_only
        else translate(locale, "Age-restricted channels only: no", context="reply_field_value")
    )
    frame = translate(locale, "Channels: {channels}", context="reply_field_value", channels="")
    channels = _list(
        config.allowed_channel_ids,
        "<#{}>",
        translate(locale, "anywhere I can post", context="reply"),
        limit=bounded.FIELD - len(frame) - len(nsfw_only) - 1,
        locale=locale,
    )
    listed = translate(
        locale, "Channels: {channels}", context="reply_field_value", channels=channels
    )
    return f"{listed}\n{nsfw_only}"


def _how_much(locale: Locale, config: GuildConfig, spent: int, base: QuotaPolicy) -> str:
    default = ngettext(
        locale,
        "Default: {count} unit per {hours} h (5 s = {cost_5s}, 10 s = {cost_10s})",
        "Default: {count} units per {hours} h (5 s = {cost_5s}, 10 s = {cost_10s})",
        base.limit,
        context="reply_field_value",
        count=number(locale, base.limit),
        hours=number(locale, round(base.window_seconds / 3600, 2)),
        cost_5s=number(locale, base.cost_5s),
        cost_10s=number(locale, base.cost_10s),
    )
    if config.daily_budget is None:
        budget = translate(locale, "Server budget: none", context="reply_field_value")
    else:
        budget = ngettext(
            locale,
            "Server budget: {spent}/{budget} unit today",
            "Server budget: {spent}/{budget} units today",
            config.daily_budget,
            context="reply_field_value",
            spent=number(locale, spent),
            budget=number(locale, config.daily_budget),
        )
    return f"{default}\n{budget}"


def _tier_line(locale: Locale, tier: QuotaTier) -> str:
    line = ngettext(
        locale,
        "{role}: {count} unit per {window}, ≤ {seconds} s, ≤ {resolution}",
        "{role}: {count} units per {window}, ≤ {seconds} s, ≤ {resolution}",
        tier.limit,
        context="reply_field_value",
        role=_role(tier.role_id),
        count=number(locale, tier.limit),
        window=_window(tier.window, locale),
        seconds=number(locale, tier.max_duration),
        resolution=tier.max_resolution,
    )
    return line + (f", {', '.join(tier.providers)}" if tier.providers else "")


def _providers(locale: Locale, config: GuildConfig, order: Sequence[ProviderName]) -> str:
    enabled = [p.label for p in order if p.value not in config.disabled_providers]
    default = (
        ProviderName(config.default_provider).label
        if config.default_provider
        else translate(locale, "the first", context="reply_field_value")
    )
    return translate(
        locale,
        "Enabled: {enabled}; default: {default}",
        context="reply_field_value",
        enabled=", ".join(enabled) or translate(locale, "none", context="reply"),
        default=default,
    )


def _policy(locale: Locale, policy: NsfwPolicy) -> str:
    match policy:
        case NsfwPolicy.REVIEW:
            return translate(locale, "held for review", context="reply_field_value")
        case NsfwPolicy.SPOILER:
            return translate(locale, "posted behind a spoiler", context="reply_field_value")
        case _:
            return translate(locale, "discarded", context="reply_field_value")


def _moderation(locale: Locale, config: GuildConfig, rules: int) -> str:
    lines = [
        ngettext(
            locale,
            "Prompt filter: {count} rule",
            "Prompt filter: {count} rules",
            rules,
            context="reply_field_value",
            count=number(locale, rules),
        ),
        translate(
            locale,
            "Flagged videos: {policy}",
            context="reply_field_value",
            policy=_policy(locale, config.nsfw_policy),
        ),
        "",  # approval, filled in below with the room that is left
        translate(
            locale,
            "Audit channel: {channel}",
            context="reply_field_value",
            channel=_channel(config.audit_channel_id, locale),
        ),
    ]
    values = {
        "channel": _channel(config.review_channel_id, locale),
        "hours": number(locale, config.review_expiry_hours),
    }
    frame = translate(
        locale,
        "Approval: {approval}; review channel: {channel}; requests expire after {hours} h",
        context="reply_field_value",
        approval="",
        **values,
    )
    room = bounded.FIELD - len(frame) - sum(len(line) + 1 for line in lines)
    approval = (
        translate(locale, "everywhere", context="reply_field_value")
        if config.approval_everywhere
        else _list(
            config.approval_channel_ids,
            "<#{}>",
            translate(locale, "off", context="reply_field_value"),
            limit=room,
            locale=locale,
        )
    )
    lines[2] = translate(
        locale,
        "Approval: {approval}; review channel: {channel}; requests expire after {hours} h",
        context="reply_field_value",
        approval=approval,
        **values,
    )
    return "\n".join(lines)
