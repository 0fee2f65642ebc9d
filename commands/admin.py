"""/reelbot: a server's own rules, for members with Manage Server. Hidden from others by
default and checked again here on every call, whatever Discord showed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot.errors import BadRequest
from bot.guild import store as guild_store
from bot.guild.audit import describe
from bot.guild.models import GuildConfig, NsfwPolicy, QuotaTier, Window
from bot.jobs import store
from bot.jobs.models import JobState
from bot.moderation import InvalidRule, validate_rule
from bot.render import safe_text
from providers import ProviderName

if TYPE_CHECKING:
    from bot.client import VideoBot

MANAGERS = discord.Permissions(manage_guild=True)
PROVIDERS = [Choice(name=p.label, value=p.value) for p in ProviderName]


def _window(window: Window) -> str:
    return "UTC day" if window is Window.DAILY else "24 h"


def _channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "none"


def _list(ids: list[int], mention: str, empty: str) -> str:
    return ", ".join(mention.format(i) for i in ids) if ids else empty


class Admin(commands.Cog):
    reelbot = app_commands.Group(
        name="reelbot",
        description="Server settings for Reelbot (Manage Server)",
        default_permissions=MANAGERS,
        guild_only=True,
    )
    channels = app_commands.Group(
        name="channels", description="Where videos may be made", parent=reelbot
    )
    roles = app_commands.Group(name="roles", description="Who may make videos", parent=reelbot)
    members = app_commands.Group(
        name="members", description="One member's access and quota", parent=reelbot
    )
    tiers = app_commands.Group(name="tiers", description="Quota tiers per role", parent=reelbot)
    filter = app_commands.Group(
        name="filter", description="Blocked words and patterns", parent=reelbot
    )
    providers = app_commands.Group(
        name="providers", description="Which providers this server uses", parent=reelbot
    )
    review = app_commands.Group(
        name="review", description="Approval before generation", parent=reelbot
    )

    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Every /reelbot command, nested ones included: Discord's permission gate can be
        changed by any admin, so the server checks again."""
        permissions = interaction.permissions
        if interaction.guild_id is None or not (
            permissions.manage_guild or permissions.administrator
        ):
            raise app_commands.CheckFailure(
                "Only members with the Manage Server permission can change Reelbot's settings."
            )
        return True

    # --- helpers --------------------------------------------------------------------------

    async def _update(
        self, interaction: discord.Interaction[VideoBot], note: str, **changes: Any
    ) -> GuildConfig:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        return await self.bot.db.run(
            lambda s: guild_store.update_config(
                session=s, guild_id=gid, actor_id=actor, now=now, note=note, **changes
            )
        )

    async def _config(self, interaction: discord.Interaction[VideoBot]) -> GuildConfig:
        return await self.bot.guild_config(interaction.guild_id)

    @staticmethod
    async def _done(interaction: discord.Interaction[VideoBot], text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True)

    # --- overview -------------------------------------------------------------------------

    @reelbot.command(name="settings", description="Show this server's Reelbot settings")
    async def settings(self, interaction: discord.Interaction[VideoBot]) -> None:
        gid = interaction.guild_id or 0
        now = time.time()

        def read(s: Any) -> tuple[GuildConfig, Any, Any, int]:
            return (
                guild_store.config(session=s, guild_id=gid),
                guild_store.tiers(session=s, guild_id=gid),
                guild_store.rules(session=s, guild_id=gid),
                store.guild_spent_today(session=s, guild_id=gid, now=now),
            )

        config, tiers, rules, spent = await self.bot.db.run(read)
        base = self.bot.runner.config.quota
        embed = discord.Embed(title="Reelbot settings", colour=discord.Colour.blurple())
        embed.add_field(
            name="Where",
            value=(
                f"Channels: {_list(config.allowed_channel_ids, '<#{}>', 'anywhere I can post')}\n"
                f"Age-restricted channels only: {'yes' if config.nsfw_channels_only else 'no'}"
            ),
            inline=False,
        )
        embed.add_field(
            name="Who",
            value=f"Roles: {_list(config.allowed_role_ids, '<@&{}>', 'everyone')}",
            inline=False,
        )
        tier_lines = [
            f"<@&{t.role_id}>: {t.limit} units per {_window(t.window)}, "
            f"≤ {t.max_duration} s, ≤ {t.max_resolution}"
            + (f", {', '.join(t.providers)}" if t.providers else "")
            for t in tiers
        ]
        embed.add_field(
            name="How much",
            value=(
                f"Default: {base.limit} units per {base.window_seconds / 3600:g} h "
                f"(5 s = {base.cost_5s}, 10 s = {base.cost_10s})\n"
                + ("\n".join(tier_lines) if tier_lines else "No tiers.")
                + "\nServer budget: "
                + (
                    f"{spent}/{config.daily_budget} units today"
                    if config.daily_budget is not None
                    else "none"
                )
            ),
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
        approval = (
            "everywhere"
            if config.approval_everywhere
            else _list(config.approval_channel_ids, "<#{}>", "off")
        )
        embed.add_field(
            name="Moderation",
            value=(
                f"Prompt filter: {len(rules)} rule(s)\n"
                f"Flagged videos: {config.nsfw_policy.value}\n"
                f"Approval: {approval}; review channel: "
                f"{_channel(config.review_channel_id)}; "
                f"requests expire after {config.review_expiry_hours:g} h\n"
                f"Audit channel: {_channel(config.audit_channel_id)}"
            ),
            inline=False,
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @reelbot.command(name="audit", description="Read the audit log")
    @app_commands.describe(member="Only this member", hours="Only the last N hours")
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
            lambda s: guild_store.audit_entries(
                session=s, guild_id=gid, user_id=user_id, since=since, limit=15
            )
        )
        if not entries:
            await self._done(interaction, "No audit entries match.")
            return
        text = "\n\n".join(describe(e) for e in entries)
        embed = discord.Embed(title="Audit log (newest first)", description=text[:4000])
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @reelbot.command(name="budget", description="Server-wide job units per UTC day (0 = no limit)")
    async def budget(
        self, interaction: discord.Interaction[VideoBot], units: app_commands.Range[int, 0, 100_000]
    ) -> None:
        await self._update(interaction, f"budget {units or 'off'}", daily_budget=units or None)
        await self._done(
            interaction, f"Daily budget: {units} units." if units else "Daily budget removed."
        )

    @reelbot.command(
        name="nsfw-policy", description="What happens to videos the provider flags as NSFW"
    )
    @app_commands.choices(
        policy=[
            Choice(name="hold for review", value="review"),
            Choice(name="post behind a spoiler", value="spoiler"),
            Choice(name="discard (quota given back)", value="discard"),
        ]
    )
    async def nsfw_policy(self, interaction: discord.Interaction[VideoBot], policy: str) -> None:
        chosen = NsfwPolicy(policy)
        if (
            chosen is NsfwPolicy.REVIEW
            and (await self._config(interaction)).review_channel_id is None
        ):
            raise BadRequest("Set a review channel first: /reelbot review channel.")
        await self._update(interaction, f"nsfw policy {chosen.value}", nsfw_policy=chosen)
        await self._done(
            interaction,
            f"Flagged videos will be handled with: {chosen.value}. In age-restricted channels they "
            "are posted as usual.",
        )

    @reelbot.command(
        name="audit-channel", description="Post the audit log to a channel (empty = stop)"
    )
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

    # --- where ----------------------------------------------------------------------------

    @channels.command(
        name="allow", description="Allow videos in a channel (once any is allowed, only those)"
    )
    async def channels_allow(
        self, interaction: discord.Interaction[VideoBot], channel: discord.TextChannel
    ) -> None:
        config = await self._config(interaction)
        ids = sorted({*config.allowed_channel_ids, channel.id})
        await self._update(interaction, f"allow channel {channel.id}", allowed_channel_ids=ids)
        await self._done(interaction, f"Videos may be made in: {_list(ids, '<#{}>', '')}.")

    @channels.command(name="disallow", description="Remove a channel from the allowed list")
    async def channels_disallow(
        self, interaction: discord.Interaction[VideoBot], channel: discord.TextChannel
    ) -> None:
        config = await self._config(interaction)
        ids = [i for i in config.allowed_channel_ids if i != channel.id]
        await self._update(interaction, f"disallow channel {channel.id}", allowed_channel_ids=ids)
        await self._done(
            interaction, f"Allowed channels: {_list(ids, '<#{}>', 'anywhere I can post')}."
        )

    @channels.command(name="nsfw-only", description="Only allow videos in age-restricted channels")
    async def channels_nsfw_only(
        self, interaction: discord.Interaction[VideoBot], enabled: bool
    ) -> None:
        await self._update(interaction, f"nsfw channels only {enabled}", nsfw_channels_only=enabled)
        await self._done(
            interaction, "Only age-restricted channels." if enabled else "Any allowed channel."
        )

    # --- who ------------------------------------------------------------------------------

    @roles.command(name="allow", description="Let a role make videos (once any is set, only those)")
    async def roles_allow(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        config = await self._config(interaction)
        ids = sorted({*config.allowed_role_ids, role.id})
        await self._update(interaction, f"allow role {role.id}", allowed_role_ids=ids)
        await self._done(interaction, f"Roles that may make videos: {_list(ids, '<@&{}>', '')}.")

    @roles.command(name="disallow", description="Remove a role from the allowed list")
    async def roles_disallow(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        config = await self._config(interaction)
        ids = [i for i in config.allowed_role_ids if i != role.id]
        await self._update(interaction, f"disallow role {role.id}", allowed_role_ids=ids)
        await self._done(
            interaction, f"Roles that may make videos: {_list(ids, '<@&{}>', 'everyone')}."
        )

    @members.command(name="block", description="Stop a member from making videos")
    async def members_block(
        self,
        interaction: discord.Interaction[VideoBot],
        member: discord.Member,
        reason: app_commands.Range[str, 1, 300],
    ) -> None:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        await self.bot.db.run(
            lambda s: guild_store.block(
                session=s, guild_id=gid, user_id=member.id, reason=reason, actor_id=actor, now=now
            )
        )
        await self._done(
            interaction,
            f"{member.mention} can no longer make videos here. "
            f"They'll see: “{safe_text(reason, 300)}”.",
        )

    @members.command(name="unblock", description="Let a blocked member make videos again")
    async def members_unblock(
        self, interaction: discord.Interaction[VideoBot], member: discord.Member
    ) -> None:
        gid = interaction.guild_id or 0
        removed = await self.bot.db.run(
            lambda s: guild_store.unblock(session=s, guild_id=gid, user_id=member.id)
        )
        await self._done(
            interaction,
            f"{member.mention} is unblocked." if removed else f"{member.mention} wasn't blocked.",
        )

    @members.command(name="grant", description="Give a member extra units for the current window")
    async def members_grant(
        self,
        interaction: discord.Interaction[VideoBot],
        member: discord.Member,
        units: app_commands.Range[int, 1, 1000],
    ) -> None:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        await self.bot.db.run(
            lambda s: guild_store.grant(
                session=s, guild_id=gid, user_id=member.id, units=units, actor_id=actor, now=now
            )
        )
        await self._done(interaction, f"Granted {units} extra units to {member.mention}.")

    @members.command(name="reset", description="Clear a member's usage in the current window")
    async def members_reset(
        self, interaction: discord.Interaction[VideoBot], member: discord.Member
    ) -> None:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        policy = self.bot.runner.config.quota
        cleared = await self.bot.db.run(
            lambda s: guild_store.reset(
                session=s, guild_id=gid, user_id=member.id, policy=policy, actor_id=actor, now=now
            )
        )
        await self._done(interaction, f"Cleared {cleared} units of {member.mention}'s usage.")

    @members.command(name="ledger", description="Why a member has the quota they have")
    async def members_ledger(
        self, interaction: discord.Interaction[VideoBot], member: discord.Member
    ) -> None:
        gid = interaction.guild_id or 0
        entries = await self.bot.db.run(
            lambda s: store.ledger(session=s, guild_id=gid, user_id=member.id, limit=25)
        )
        usage = await self.bot.usage(guild_id=gid, user_id=member.id)
        lines = [
            f"<t:{int(e.created_at)}:f> **{e.kind.value}** {e.amount:+d}"
            + (f" · job `{e.job_id[:8]}`" if e.job_id else "")
            + (f" · {e.note}" if e.note else "")
            + (f" · by <@{e.actor_id}>" if e.actor_id else "")
            for e in entries
        ]
        embed = discord.Embed(
            title="Quota ledger",
            description=(
                f"{member.mention}: {usage.used}/{usage.limit} used, "
                f"{usage.in_flight} in progress.\n\n" + ("\n".join(lines) or "No entries.")
            )[:4000],
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    # --- how much -------------------------------------------------------------------------

    @tiers.command(
        name="set", description="Set a role's quota tier (the member gets their best tier)"
    )
    @app_commands.choices(max_duration=[Choice(name="5 s", value=5), Choice(name="10 s", value=10)])
    @app_commands.choices(
        window=[
            Choice(name="rolling 24 h", value="rolling"),
            Choice(name="per UTC day", value="daily"),
        ],
    )
    @app_commands.choices(
        max_resolution=[Choice(name="720P", value="720P"), Choice(name="1080P", value="1080P")]
    )
    @app_commands.describe(providers="Comma-separated: runcomfy, wavespeed (empty = all enabled)")
    async def tiers_set(
        self,
        interaction: discord.Interaction[VideoBot],
        role: discord.Role,
        limit: app_commands.Range[int, 0, 10_000],
        window: str = "rolling",
        max_duration: int = 10,
        max_resolution: str = "1080P",
        providers: str | None = None,
    ) -> None:
        names = [p.strip().lower() for p in (providers or "").split(",") if p.strip()]
        unknown = [n for n in names if n not in {p.value for p in ProviderName}]
        if unknown:
            raise BadRequest(
                f"Unknown provider(s): {', '.join(unknown)}. Use runcomfy or wavespeed."
            )
        tier = QuotaTier(
            guild_id=interaction.guild_id or 0,
            role_id=role.id,
            limit=limit,
            window=Window(window),
            max_duration=max_duration,
            max_resolution=max_resolution,
            providers=names,
        )
        await self.bot.db.run(lambda s: guild_store.set_tier(session=s, tier=tier))
        await self._update(interaction, f"tier {role.id}: {limit}/{window}")
        await self._done(
            interaction,
            f"{role.mention}: {limit} units per {'UTC day' if window == 'daily' else '24 h'}, "
            f"clips up to {max_duration} s at up to {max_resolution}"
            + (f", providers {', '.join(names)}" if names else "")
            + ". Members get the most generous tier among their roles.",
        )

    @tiers.command(name="remove", description="Remove a role's quota tier")
    async def tiers_remove(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        gid = interaction.guild_id or 0
        removed = await self.bot.db.run(
            lambda s: guild_store.remove_tier(session=s, guild_id=gid, role_id=role.id)
        )
        await self._done(
            interaction, f"Removed {role.mention}'s tier." if removed else "That role has no tier."
        )

    # --- what -----------------------------------------------------------------------------

    async def _add_rule(
        self, interaction: discord.Interaction[VideoBot], kind: str, pattern: str
    ) -> None:
        try:
            cleaned = validate_rule(kind, pattern)
        except InvalidRule as error:
            raise BadRequest(f"That {kind} can't be used: {error}.") from error
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        try:
            row = await self.bot.db.run(
                lambda s: guild_store.add_rule(
                    session=s, guild_id=gid, kind=kind, pattern=cleaned, actor_id=actor, now=now
                )
            )
        except ValueError as error:
            raise BadRequest(str(error)) from error
        await self._update(interaction, f"filter +{kind} #{row.id}")
        await self._done(interaction, f"Added {kind} rule #{row.id}: `{safe_text(cleaned, 200)}`.")

    @filter.command(name="add-word", description="Block a word or phrase (any case or accents)")
    async def filter_add_word(
        self, interaction: discord.Interaction[VideoBot], word: app_commands.Range[str, 1, 100]
    ) -> None:
        await self._add_rule(interaction, "word", word)

    @filter.command(name="add-regex", description="Block prompts matching a regular expression")
    async def filter_add_regex(
        self, interaction: discord.Interaction[VideoBot], pattern: app_commands.Range[str, 1, 200]
    ) -> None:
        await self._add_rule(interaction, "regex", pattern)

    @filter.command(name="remove", description="Remove a filter rule by its number")
    async def filter_remove(self, interaction: discord.Interaction[VideoBot], rule: int) -> None:
        gid = interaction.guild_id or 0
        removed = await self.bot.db.run(
            lambda s: guild_store.remove_rule(session=s, guild_id=gid, rule_id=rule)
        )
        if removed:
            await self._update(interaction, f"filter -#{rule}")
        await self._done(
            interaction, f"Removed rule #{rule}." if removed else f"There is no rule #{rule}."
        )

    @filter.command(name="list", description="List the filter rules")
    async def filter_list(self, interaction: discord.Interaction[VideoBot]) -> None:
        gid = interaction.guild_id or 0
        rows = await self.bot.db.run(lambda s: guild_store.rules(session=s, guild_id=gid))
        text = "\n".join(f"#{r.id} {r.kind}: `{safe_text(r.pattern, 200)}`" for r in rows)
        await self._done(interaction, text[:1990] or "No filter rules.")

    # --- providers ------------------------------------------------------------------------

    @providers.command(name="enable", description="Offer a provider on this server")
    @app_commands.choices(provider=PROVIDERS)
    async def providers_enable(
        self, interaction: discord.Interaction[VideoBot], provider: str
    ) -> None:
        config = await self._config(interaction)
        disabled = [p for p in config.disabled_providers if p != provider]
        await self._update(interaction, f"enable {provider}", disabled_providers=disabled)
        note = (
            ""
            if ProviderName(provider) in self.bot.providers
            else " (it has no API key on this bot yet)"
        )
        await self._done(interaction, f"{ProviderName(provider).label} is enabled{note}.")

    @providers.command(name="disable", description="Stop offering a provider on this server")
    @app_commands.choices(provider=PROVIDERS)
    async def providers_disable(
        self, interaction: discord.Interaction[VideoBot], provider: str
    ) -> None:
        config = await self._config(interaction)
        disabled = sorted({*config.disabled_providers, provider})
        changes: dict[str, Any] = {"disabled_providers": disabled}
        if config.default_provider == provider:
            changes["default_provider"] = None
        await self._update(interaction, f"disable {provider}", **changes)
        await self._done(interaction, f"{ProviderName(provider).label} is disabled on this server.")

    @providers.command(name="default", description="The provider used when a member picks none")
    @app_commands.choices(provider=PROVIDERS)
    async def providers_default(
        self, interaction: discord.Interaction[VideoBot], provider: str
    ) -> None:
        config = await self._config(interaction)
        if provider in config.disabled_providers:
            raise BadRequest(f"{ProviderName(provider).label} is disabled here; enable it first.")
        await self._update(interaction, f"default {provider}", default_provider=provider)
        await self._done(interaction, f"{ProviderName(provider).label} is now the default.")

    # --- review ---------------------------------------------------------------------------

    @review.command(
        name="channel", description="Where requests and flagged videos wait for moderators"
    )
    async def review_channel(
        self, interaction: discord.Interaction[VideoBot], channel: discord.TextChannel
    ) -> None:
        await self._update(
            interaction, f"review channel {channel.id}", review_channel_id=channel.id
        )
        await self._done(
            interaction, f"Reviews go to {channel.mention}. Moderators there need Manage Messages."
        )

    @review.command(name="approval", description="Require a moderator's approval before generating")
    @app_commands.describe(channel="Only this channel (leave empty for the whole server)")
    async def review_approval(
        self,
        interaction: discord.Interaction[VideoBot],
        enabled: bool,
        channel: discord.TextChannel | None = None,
    ) -> None:
        config = await self._config(interaction)
        if enabled and config.review_channel_id is None:
            raise BadRequest("Set a review channel first: /reelbot review channel.")
        if channel is None:
            await self._update(
                interaction, f"approval everywhere {enabled}", approval_everywhere=enabled
            )
            where = "everywhere on this server"
        else:
            ids = set(config.approval_channel_ids)
            ids = ids | {channel.id} if enabled else ids - {channel.id}
            await self._update(
                interaction, f"approval {channel.id} {enabled}", approval_channel_ids=sorted(ids)
            )
            where = f"in {channel.mention}"
        await self._done(
            interaction, f"Approval is {'required' if enabled else 'not required'} {where}."
        )

    @review.command(name="expiry", description="Hours after which a pending request is dropped")
    async def review_expiry(
        self,
        interaction: discord.Interaction[VideoBot],
        hours: app_commands.Range[float, 0.05, 720.0],
    ) -> None:
        await self._update(interaction, f"review expiry {hours}", review_expiry_hours=hours)
        await self._done(interaction, f"Pending requests expire after {hours:g} h.")

    @reelbot.command(name="unknown", description="Jobs whose outcome at the provider is unknown")
    async def unknown(self, interaction: discord.Interaction[VideoBot]) -> None:
        gid = interaction.guild_id or 0
        jobs = await self.bot.db.run(
            lambda s: store.jobs_in_state(session=s, guild_id=gid, state=JobState.UNKNOWN)
        )
        if not jobs:
            await self._done(interaction, "No job has an unknown outcome.")
            return
        lines = [
            f"`{j.id}` <@{j.user_id}> · {j.provider} job "
            f"`{j.provider_job_id or 'not confirmed'}` · "
            f"<t:{int(j.created_at)}:R> · {safe_text(j.error or '', 120)}"
            for j in jobs[:20]
        ]
        await self._done(
            interaction,
            (
                "\n".join(lines)
                + "\nCheck them on the provider's dashboard, then settle each with "
                "/reelbot resolve (refund, or keep the charge)."
            )[:1990],
        )

    @reelbot.command(name="resolve", description="Settle a job whose outcome was unknown")
    @app_commands.describe(
        job="The job id from /reelbot unknown",
        refund="Give the member their units back (you found no charge or no video)",
    )
    async def resolve(
        self, interaction: discord.Interaction[VideoBot], job: str, refund: bool
    ) -> None:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        job_id = job.strip().lower()
        settled = await self.bot.db.run(
            lambda s: guild_store.resolve_unknown(
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


async def setup(bot: VideoBot) -> None:
    await bot.add_cog(Admin(bot))
