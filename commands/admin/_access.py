"""/reelbot channels, roles and members: where videos may be made, by whom, and one
member's access and quota."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.core import bounded, quotas
from bot.core.bounded import bounded_join
from bot.core.guild import store as guild_store
from bot.discord_layer.render import safe_text
from bot.discord_layer.translator import tr

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

from commands.admin._base import AdminGroup, _list

#: room for a list in a one-line answer (message content holds 2000 characters)
LISTED = bounded.CONTENT - 100

# Members can make videos in text channels, forum posts (threads of a forum) and the text chat
# of voice channels; a thread follows its parent's rules, so threads themselves are not listed.
RuleChannel = discord.TextChannel | discord.ForumChannel | discord.VoiceChannel


class Channels(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(
            bot, name="channels", description=tr("command", "Where videos may be made")
        )

    @app_commands.command(
        name="allow",
        description=tr("command", "Allow videos in a channel (once any is allowed, only those)"),
    )
    @app_commands.describe(channel=tr("command", "The channel to allow videos in"))
    async def channels_allow(
        self, interaction: discord.Interaction[VideoBot], channel: RuleChannel
    ) -> None:
        ids = await self._edit_ids(interaction, "allowed_channel_ids", channel.id, add=True)
        await self._done(
            interaction, f"Videos may be made in: {_list(ids, '<#{}>', '', limit=LISTED)}."
        )

    @app_commands.command(
        name="disallow", description=tr("command", "Remove a channel from the allowed list")
    )
    @app_commands.describe(channel=tr("command", "The channel to take off the list"))
    async def channels_disallow(
        self, interaction: discord.Interaction[VideoBot], channel: RuleChannel
    ) -> None:
        ids = await self._edit_ids(interaction, "allowed_channel_ids", channel.id, add=False)
        await self._done(
            interaction,
            f"Allowed channels: {_list(ids, '<#{}>', 'anywhere I can post', limit=LISTED)}.",
        )

    @app_commands.command(
        name="nsfw-only", description=tr("command", "Only allow videos in age-restricted channels")
    )
    @app_commands.describe(enabled=tr("command", "On: age-restricted channels only"))
    async def channels_nsfw_only(
        self, interaction: discord.Interaction[VideoBot], enabled: bool
    ) -> None:
        await self._update(interaction, f"nsfw channels only {enabled}", nsfw_channels_only=enabled)
        await self._done(
            interaction, "Only age-restricted channels." if enabled else "Any allowed channel."
        )


class Roles(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(bot, name="roles", description=tr("command", "Who may make videos"))

    @app_commands.command(
        name="allow",
        description=tr("command", "Let a role make videos (once any is set, only those)"),
    )
    @app_commands.describe(role=tr("command", "The role that may make videos"))
    async def roles_allow(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        ids = await self._edit_ids(interaction, "allowed_role_ids", role.id, add=True)
        await self._done(
            interaction, f"Roles that may make videos: {_list(ids, '<@&{}>', '', limit=LISTED)}."
        )

    @app_commands.command(
        name="disallow", description=tr("command", "Remove a role from the allowed list")
    )
    @app_commands.describe(role=tr("command", "The role to take off the list"))
    async def roles_disallow(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        ids = await self._edit_ids(interaction, "allowed_role_ids", role.id, add=False)
        await self._done(
            interaction,
            f"Roles that may make videos: {_list(ids, '<@&{}>', 'everyone', limit=LISTED)}.",
        )


class Members(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(
            bot, name="members", description=tr("command", "One member's access and quota")
        )

    @app_commands.command(
        name="block", description=tr("command", "Stop a member from making videos")
    )
    @app_commands.describe(
        member=tr("command", "The member to block"),
        reason=tr("command", "Why (kept in the audit log)"),
    )
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

    @app_commands.command(
        name="unblock", description=tr("command", "Let a blocked member make videos again")
    )
    @app_commands.describe(member=tr("command", "The member to unblock"))
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

    @app_commands.command(
        name="grant", description=tr("command", "Give a member extra units for the current window")
    )
    @app_commands.describe(
        member=tr("command", "The member who gets the units"),
        units=tr("command", "How many extra units (1-1000)"),
    )
    async def members_grant(
        self,
        interaction: discord.Interaction[VideoBot],
        member: discord.Member,
        units: app_commands.Range[int, 1, 1000],
    ) -> None:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        await self.bot.db.run(
            lambda s: quotas.grant(
                session=s, guild_id=gid, user_id=member.id, units=units, actor_id=actor, now=now
            )
        )
        await self._done(interaction, f"Granted {units} extra units to {member.mention}.")

    @app_commands.command(
        name="reset", description=tr("command", "Clear a member's usage in the current window")
    )
    @app_commands.describe(member=tr("command", "The member whose usage is cleared"))
    async def members_reset(
        self, interaction: discord.Interaction[VideoBot], member: discord.Member
    ) -> None:
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        policy = self.bot.runner.config.quota
        cleared = await self.bot.db.run(
            lambda s: quotas.reset(
                session=s, guild_id=gid, user_id=member.id, policy=policy, actor_id=actor, now=now
            )
        )
        await self._done(interaction, f"Cleared {cleared} units of {member.mention}'s usage.")

    @app_commands.command(
        name="ledger", description=tr("command", "Why a member has the quota they have")
    )
    @app_commands.describe(member=tr("command", "The member to look up"))
    async def members_ledger(
        self, interaction: discord.Interaction[VideoBot], member: discord.Member
    ) -> None:
        gid = interaction.guild_id or 0
        entries = await self.bot.db.run(
            lambda s: quotas.ledger(session=s, guild_id=gid, user_id=member.id, limit=25)
        )
        usage = await self.bot.lookups.usage(guild_id=gid, user_id=member.id)
        lines = [
            f"<t:{int(e.created_at)}:f> **{e.kind.value}** {e.amount:+d}"
            + (f" · job `{e.job_id[:8]}`" if e.job_id else "")
            + (f" · {e.note}" if e.note else "")
            + (f" · by <@{e.actor_id}>" if e.actor_id else "")
            for e in entries
        ]
        header = (
            f"{member.mention}: {usage.used}/{usage.limit} used, {usage.in_flight} in progress."
        )
        listed = bounded_join(
            lines, sep="\n", limit=bounded.DESCRIPTION - len(header) - 2, empty="No entries."
        )
        embed = discord.Embed(title="Quota ledger", description=f"{header}\n\n{listed}")
        await self._done(interaction, embed=embed)
