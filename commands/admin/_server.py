"""/reelbot itself: settings, audit, budget, NSFW policy, audit channel, unknown jobs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core import audit, bounded, quotas
from bot.core.bounded import bounded_join
from bot.core.guild import store as guild_store
from bot.core.guild.models import GuildConfig, NsfwPolicy, QuotaTier
from bot.core.jobs import store
from bot.discord_layer.audit_channel import describe
from bot.discord_layer.errors import BadRequest
from bot.discord_layer.render import safe_text
from bot.discord_layer.translator import tr
from providers import ProviderName

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

from commands.admin._base import MANAGERS, AdminGroup, _channel, _list, _window


class Reelbot(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(
            bot,
            name="reelbot",
            description=tr("command", "Server settings for Reelbot (Manage Server)"),
            default_permissions=MANAGERS,
            guild_only=True,
        )

    @app_commands.command(
        name="settings", description=tr("command", "Show this server's Reelbot settings")
    )
    async def settings(self, interaction: discord.Interaction[VideoBot]) -> None:
        gid = interaction.guild_id or 0
        now = time.time()

        def read(s: Any) -> tuple[GuildConfig, Any, Any, int]:
            return (
                guild_store.config(session=s, guild_id=gid),
                guild_store.tiers(session=s, guild_id=gid),
                guild_store.rules(session=s, guild_id=gid),
                quotas.guild_spent_today(session=s, guild_id=gid, now=now),
            )

        config, tiers, rules, spent = await self.bot.db.run(read)
        embed = self._settings_embed(config, tiers, len(rules), spent)
        await self._done(interaction, embed=embed)

    def _settings_embed(
        self, config: GuildConfig, tiers: Sequence[QuotaTier], rules: int, spent: int
    ) -> discord.Embed:
        """Six fields, each list bounded to its field (1024), so the embed stays well under
        Discord's 6000 characters however many channels, roles and tiers a server has."""
        base = self.bot.runner.config.quota
        embed = discord.Embed(title="Reelbot settings", colour=discord.Colour.blurple())
        nsfw_only = (
            f"\nAge-restricted channels only: {'yes' if config.nsfw_channels_only else 'no'}"
        )
        channels = _list(
            config.allowed_channel_ids,
            "<#{}>",
            "anywhere I can post",
            limit=bounded.FIELD - len("Channels: ") - len(nsfw_only),
        )
        embed.add_field(name="Where", value=f"Channels: {channels}{nsfw_only}", inline=False)
        roles = _list(
            config.allowed_role_ids, "<@&{}>", "everyone", limit=bounded.FIELD - len("Roles: ")
        )
        embed.add_field(name="Who", value=f"Roles: {roles}", inline=False)
        budget = (
            f"{spent}/{config.daily_budget} units today"
            if config.daily_budget is not None
            else "none"
        )
        embed.add_field(
            name="How much",
            value=(
                f"Default: {base.limit} units per {base.window_seconds / 3600:g} h "
                f"(5 s = {base.cost_5s}, 10 s = {base.cost_10s})\nServer budget: {budget}"
            ),
            inline=False,
        )
        tier_lines = [
            f"<@&{t.role_id}>: {t.limit} units per {_window(t.window)}, "
            f"≤ {t.max_duration} s, ≤ {t.max_resolution}"
            + (f", {', '.join(t.providers)}" if t.providers else "")
            for t in tiers
        ]
        embed.add_field(
            name="Tiers",
            value=bounded_join(tier_lines, sep="\n", limit=bounded.FIELD, empty="No tiers."),
            inline=False,
        )
        enabled = [
            p.label for p in self.bot.provider_order if p.value not in config.disabled_providers
        ]
        default = (
            ProviderName(config.default_provider).label if config.default_provider else "the first"
        )
        embed.add_field(
            name="Providers",
            value=(f"Enabled: {', '.join(enabled) or 'none'}; default: {default}"),
            inline=False,
        )
        rest = (
            f"Prompt filter: {rules} rule(s)\n"
            f"Flagged videos: {config.nsfw_policy.value}\n"
            "Approval: {approval}; review channel: "
            f"{_channel(config.review_channel_id)}; "
            f"requests expire after {config.review_expiry_hours:g} h\n"
            f"Audit channel: {_channel(config.audit_channel_id)}"
        )
        approval = (
            "everywhere"
            if config.approval_everywhere
            else _list(
                config.approval_channel_ids,
                "<#{}>",
                "off",
                limit=bounded.FIELD - len(rest) + len("{approval}"),
            )
        )
        embed.add_field(name="Moderation", value=rest.replace("{approval}", approval), inline=False)
        return embed

    @app_commands.command(name="audit", description=tr("command", "Read the audit log"))
    @app_commands.describe(
        member=tr("command", "Only this member"), hours=tr("command", "Only the last N hours")
    )
    async def audit(
        self,
        interaction: discord.Interaction[VideoBot],
        member: discord.Member | None = None,
        hours: app_commands.Range[float, 0.1, 2160.0] | None = None,
    ) -> None:
        gid = interaction.guild_id or 0
        user_id = member.id if member else None
        since = time.time() - hours * 3600 if hours else None
        entries = await self.bot.db.run(
            lambda s: audit.audit_entries(
                session=s, guild_id=gid, user_id=user_id, since=since, limit=15
            )
        )
        if not entries:
            await self._done(interaction, "No audit entries match.")
            return
        text = bounded_join([describe(e) for e in entries], sep="\n\n", limit=bounded.DESCRIPTION)
        embed = discord.Embed(title="Audit log (newest first)", description=text)
        await self._done(interaction, embed=embed)

    @app_commands.command(
        name="budget", description=tr("command", "Server-wide job units per UTC day (0 = no limit)")
    )
    @app_commands.describe(units=tr("command", "Units per UTC day (0 = no limit)"))
    async def budget(
        self, interaction: discord.Interaction[VideoBot], units: app_commands.Range[int, 0, 100_000]
    ) -> None:
        await self._update(interaction, f"budget {units or 'off'}", daily_budget=units or None)
        await self._done(
            interaction, f"Daily budget: {units} units." if units else "Daily budget removed."
        )

    @app_commands.command(
        name="nsfw-policy",
        description=tr("command", "What happens to videos the provider flags as NSFW"),
    )
    @app_commands.choices(
        policy=[
            Choice(name=tr("choice", "hold for review"), value="review"),
            Choice(name=tr("choice", "post behind a spoiler"), value="spoiler"),
            Choice(name=tr("choice", "discard (quota given back)"), value="discard"),
        ]
    )
    @app_commands.describe(policy=tr("command", "What to do with a flagged video"))
    async def nsfw_policy(self, interaction: discord.Interaction[VideoBot], policy: str) -> None:
        chosen = NsfwPolicy(policy)

        def edit(config: GuildConfig) -> dict[str, Any]:
            if chosen is NsfwPolicy.REVIEW and config.review_channel_id is None:
                raise BadRequest("Set a review channel first: /reelbot review channel.")
            return {"nsfw_policy": chosen}

        await self._edit(interaction, f"nsfw policy {chosen.value}", edit)
        await self._done(
            interaction,
            f"Flagged videos will be handled with: {chosen.value}. In age-restricted channels they "
            "are posted as usual.",
        )

    @app_commands.command(
        name="audit-channel",
        description=tr("command", "Post the audit log to a channel (empty = stop)"),
    )
    @app_commands.describe(channel=tr("command", "Where audit entries go (empty = stop)"))
    async def audit_channel(
        self, interaction: discord.Interaction[VideoBot], channel: discord.TextChannel | None = None
    ) -> None:
        await self._update(
            interaction,
            f"audit channel {channel.id if channel else 'off'}",
            audit_channel_id=channel.id if channel else None,
        )
        await self._done(
            interaction,
            f"Audit entries go to {channel.mention}." if channel else "Audit channel off.",
        )

    @app_commands.command(
        name="unknown", description=tr("command", "Jobs whose outcome at the provider is unknown")
    )
    async def unknown(self, interaction: discord.Interaction[VideoBot]) -> None:
        gid = interaction.guild_id or 0
        jobs = await self.bot.db.run(
            lambda s: store.unsettled_unknown(session=s, guild_id=gid)
        )
        if not jobs:
            await self._done(interaction, "No job has an unknown outcome.")
            return
        lines = [
            f"`{j.id}` <@{j.user_id}> · {j.provider} job "
            f"`{j.provider_job_id or 'not confirmed'}` · "
            f"<t:{int(j.created_at)}:R> · {safe_text(j.error or '', 120)}"
            for j in jobs
        ]
        advice = (
            "\nCheck them on the provider's dashboard, then settle each with "
            "/reelbot resolve (refund, or keep the charge)."
        )
        listed = bounded_join(lines, sep="\n", limit=bounded.CONTENT - len(advice))
        await self._done(interaction, listed + advice)

    @app_commands.command(
        name="resolve", description=tr("command", "Settle a job whose outcome was unknown")
    )
    @app_commands.describe(
        job=tr("command", "The job id from /reelbot unknown"),
        refund=tr("command", "Give the member their units back (you found no charge or no video)"),
    )
    async def resolve(
        self, interaction: discord.Interaction[VideoBot], job: str, refund: bool
    ) -> None:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        job_id = job.strip().lower()
        settled = await self.bot.db.run(
            lambda s: store.resolve_unknown(
                session=s, guild_id=gid, job_id=job_id, refund=refund, actor_id=actor, now=now
            )
        )
        if settled is None:
            raise BadRequest(
                "There is no unsettled job with an unknown outcome by that id on this server."
            )
        await self._done(
            interaction,
            f"Job `{settled.id}` of <@{settled.user_id}>: "
            + ("their units were given back." if refund else "the charge stands."),
        )
