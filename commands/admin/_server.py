"""/reelbot itself: settings, audit, budget, NSFW policy, audit channel, unknown jobs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, assert_never

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core import audit, bounded, quotas
from bot.core.bounded import bounded_join
from bot.core.guild import store as guild_store
from bot.core.guild.models import GuildConfig, NsfwPolicy
from bot.core.i18n import later, ngettext, number, translate
from bot.core.jobs import store
from bot.discord_layer.audit_channel import describe
from bot.discord_layer.errors import BadRequest, locale_of, stamp
from bot.discord_layer.render import safe_text
from bot.discord_layer.translator import tr

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

from commands.admin._base import MANAGERS, REVIEW_CHANNEL_FIRST, AdminGroup, _user
from commands.admin._settings_embed import settings_embed


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
        embed = settings_embed(
            locale_of(interaction),
            config=config,
            tiers=tiers,
            rules=len(rules),
            spent=spent,
            base=self.bot.runner.config.quota,
            order=self.bot.provider_order,
            server_locale=None
            if interaction.guild_locale is None
            else interaction.guild_locale.value,
        )
        await self._done(interaction, embed=embed)

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
        locale = locale_of(interaction)
        if not entries:
            await self._done(
                interaction, translate(locale, "No audit entries match.", context="reply")
            )
            return
        text = bounded_join(
            [describe(e, locale) for e in entries],
            sep="\n\n",
            limit=bounded.DESCRIPTION,
            locale=locale,
        )
        embed = discord.Embed(
            title=translate(locale, "Audit log (newest first)", context="reply_title"),
            description=text,
        )
        await self._done(interaction, embed=embed)

    @app_commands.command(
        name="budget", description=tr("command", "Server-wide job units per UTC day (0 = no limit)")
    )
    @app_commands.describe(units=tr("command", "Units per UTC day (0 = no limit)"))
    async def budget(
        self, interaction: discord.Interaction[VideoBot], units: app_commands.Range[int, 0, 100_000]
    ) -> None:
        await self._update(interaction, f"budget {units or 'off'}", daily_budget=units or None)
        locale = locale_of(interaction)
        await self._done(
            interaction,
            ngettext(
                locale,
                "Daily budget: {count} unit.",
                "Daily budget: {count} units.",
                units,
                context="reply",
                count=number(locale, units),
            )
            if units
            else translate(locale, "Daily budget removed.", context="reply"),
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
                raise BadRequest(REVIEW_CHANNEL_FIRST)
            return {"nsfw_policy": chosen}

        await self._edit(interaction, f"nsfw policy {chosen.value}", edit)
        await self._done(interaction, _nsfw_policy_text(locale_of(interaction), chosen))

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
        locale = locale_of(interaction)
        await self._done(
            interaction,
            translate(
                locale, "Audit entries go to {channel}.", context="reply", channel=channel.mention
            )
            if channel
            else translate(locale, "Audit channel off.", context="reply"),
        )

    @app_commands.command(
        name="unknown", description=tr("command", "Jobs whose outcome at the provider is unknown")
    )
    async def unknown(self, interaction: discord.Interaction[VideoBot]) -> None:
        gid = interaction.guild_id or 0
        jobs = await self.bot.db.run(lambda s: store.unsettled_unknown(session=s, guild_id=gid))
        locale = locale_of(interaction)
        if not jobs:
            await self._done(
                interaction, translate(locale, "No job has an unknown outcome.", context="reply")
            )
            return
        unconfirmed = translate(locale, "not confirmed", context="reply")
        lines = [
            translate(
                locale,
                "`{job}` {member} · {provider} job `{provider_job}` · {when} · {error}",
                context="reply",
                job=j.id,
                member=_user(j.user_id),
                provider=j.provider,
                provider_job=j.provider_job_id or unconfirmed,
                when=stamp(j.created_at, "R"),
                error=safe_text(j.error or "", 120),
            )
            for j in jobs
        ]
        advice = "\n" + translate(
            locale,
            "Check them on the provider's dashboard, then settle each with /reelbot resolve "
            "(refund, or keep the charge).",
            context="reply",
        )
        listed = bounded_join(lines, sep="\n", limit=bounded.CONTENT - len(advice), locale=locale)
        await self._done(interaction, listed + advice)

    @app_commands.command(
        name="resolve", description=tr("command", "Settle a job whose outcome was unknown")
    )
    @app_commands.describe(
        job=tr("command", "The job id from /reelbot unknown"),
        refund=tr("command", "Give the member their units back"),
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
                later(
                    "reply",
                    "There is no unsettled job with an unknown outcome by that id on this server.",
                )
            )
        values = {"job": settled.id, "member": f"<@{settled.user_id}>"}
        await self._done(
            interaction,
            translate(
                locale_of(interaction),
                "Job `{job}` of {member}: their units were given back.",
                context="reply",
                **values,
            )
            if refund
            else translate(
                locale_of(interaction),
                "Job `{job}` of {member}: the charge stands.",
                context="reply",
                **values,
            ),
        )


def _nsfw_policy_text(locale: str | None, policy: NsfwPolicy) -> str:
    match policy:
        case NsfwPolicy.REVIEW:
            return translate(
                locale,
                "Flagged videos will be held for review. In age-restricted channels they are "
                "posted as usual.",
                context="reply",
            )
        case NsfwPolicy.SPOILER:
            return translate(
                locale,
                "Flagged videos will be posted behind a spoiler. In age-restricted channels they "
                "are posted as usual.",
                context="reply",
            )
        case NsfwPolicy.DISCARD:
            return translate(
                locale,
                "Flagged videos will be discarded (the quota is given back). In age-restricted "
                "channels they are posted as usual.",
                context="reply",
            )
        case _:
            assert_never(policy)
