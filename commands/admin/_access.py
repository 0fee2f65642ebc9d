"""/reelbot channels, roles and members: where videos may be made, by whom, and one
member's access and quota."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, assert_never

import discord
from discord import app_commands

from bot.core import bounded, quotas
from bot.core.bounded import bounded_join
from bot.core.guild import store as guild_store
from bot.core.i18n import ngettext, number, translate
from bot.core.jobs.models import LedgerKind
from bot.discord_layer.errors import locale_of, stamp
from bot.discord_layer.render import safe_text
from bot.discord_layer.translator import tr

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

from commands.admin._base import AdminGroup, _list, _user

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
        description=tr("command", "Allow videos in a channel (then only there)"),
    )
    @app_commands.describe(channel=tr("command", "The channel to allow videos in"))
    async def channels_allow(
        self, interaction: discord.Interaction[VideoBot], channel: RuleChannel
    ) -> None:
        ids = await self._edit_ids(interaction, "allowed_channel_ids", channel.id, add=True)
        await self._done(
            interaction,
            translate(
                locale_of(interaction),
                "Videos may be made in: {channels}.",
                context="reply",
                channels=_list(ids, "<#{}>", "", limit=LISTED, locale=locale_of(interaction)),
            ),
        )

    @app_commands.command(
        name="disallow", description=tr("command", "Remove a channel from the allowed list")
    )
    @app_commands.describe(channel=tr("command", "The channel to take off the list"))
    async def channels_disallow(
        self, interaction: discord.Interaction[VideoBot], channel: RuleChannel
    ) -> None:
        ids = await self._edit_ids(interaction, "allowed_channel_ids", channel.id, add=False)
        locale = locale_of(interaction)
        anywhere = translate(locale, "anywhere I can post", context="reply")
        await self._done(
            interaction,
            translate(
                locale,
                "Allowed channels: {channels}.",
                context="reply",
                channels=_list(ids, "<#{}>", anywhere, limit=LISTED, locale=locale),
            ),
        )

    @app_commands.command(
        name="nsfw-only", description=tr("command", "Only allow videos in age-restricted channels")
    )
    @app_commands.describe(enabled=tr("command", "On: age-restricted channels only"))
    async def channels_nsfw_only(
        self, interaction: discord.Interaction[VideoBot], enabled: bool
    ) -> None:
        await self._update(interaction, f"nsfw channels only {enabled}", nsfw_channels_only=enabled)
        locale = locale_of(interaction)
        await self._done(
            interaction,
            translate(locale, "Only age-restricted channels.", context="reply")
            if enabled
            else translate(locale, "Any allowed channel.", context="reply"),
        )


class Roles(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(bot, name="roles", description=tr("command", "Who may make videos"))

    @app_commands.command(
        name="allow",
        description=tr("command", "Let a role make videos (then only those)"),
    )
    @app_commands.describe(role=tr("command", "The role that may make videos"))
    async def roles_allow(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        ids = await self._edit_ids(interaction, "allowed_role_ids", role.id, add=True)
        await self._done(
            interaction,
            translate(
                locale_of(interaction),
                "Roles that may make videos: {roles}.",
                context="reply",
                roles=_list(ids, "<@&{}>", "", limit=LISTED, locale=locale_of(interaction)),
            ),
        )

    @app_commands.command(
        name="disallow", description=tr("command", "Remove a role from the allowed list")
    )
    @app_commands.describe(role=tr("command", "The role to take off the list"))
    async def roles_disallow(
        self, interaction: discord.Interaction[VideoBot], role: discord.Role
    ) -> None:
        ids = await self._edit_ids(interaction, "allowed_role_ids", role.id, add=False)
        locale = locale_of(interaction)
        everyone = translate(locale, "everyone", context="reply")
        await self._done(
            interaction,
            translate(
                locale,
                "Roles that may make videos: {roles}.",
                context="reply",
                roles=_list(ids, "<@&{}>", everyone, limit=LISTED, locale=locale),
            ),
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
            translate(
                locale_of(interaction),
                "{member} can no longer make videos here. They'll see: “{reason}”.",
                context="reply",
                member=member.mention,
                reason=safe_text(reason, 300),
            ),
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
        locale = locale_of(interaction)
        await self._done(
            interaction,
            translate(locale, "{member} is unblocked.", context="reply", member=member.mention)
            if removed
            else translate(
                locale, "{member} wasn't blocked.", context="reply", member=member.mention
            ),
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
        locale = locale_of(interaction)
        await self._done(
            interaction,
            ngettext(
                locale,
                "Granted {count} extra unit to {member}.",
                "Granted {count} extra units to {member}.",
                units,
                context="reply",
                count=number(locale, units),
                member=member.mention,
            ),
        )

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
        locale = locale_of(interaction)
        await self._done(
            interaction,
            ngettext(
                locale,
                "Cleared {count} unit of {member}'s usage.",
                "Cleared {count} units of {member}'s usage.",
                cleared,
                context="reply",
                count=number(locale, cleared),
                member=member.mention,
            ),
        )

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
        locale = locale_of(interaction)
        job_word = translate(locale, "job", context="reply")
        lines = [
            f"{stamp(e.created_at, 'f')} **{_kind_word(locale, e.kind)}** {e.amount:+d}"
            + (f" · {job_word} `{e.job_id[:8]}`" if e.job_id else "")
            + (f" · {e.note}" if e.note else "")
            + (
                " · " + translate(locale, "by {actor}", context="reply", actor=_user(e.actor_id))
                if e.actor_id
                else ""
            )
            for e in entries
        ]
        header = translate(
            locale,
            "{member}: {used}/{limit} used, {in_flight} in progress.",
            context="reply",
            member=member.mention,
            used=number(locale, usage.used),
            limit=number(locale, usage.limit),
            in_flight=number(locale, usage.in_flight),
        )
        listed = bounded_join(
            lines,
            sep="\n",
            limit=bounded.DESCRIPTION - len(header) - 2,
            locale=locale,
            empty=translate(locale, "No entries.", context="reply"),
        )
        embed = discord.Embed(
            title=translate(locale, "Quota ledger", context="reply_title"),
            description=f"{header}\n\n{listed}",
        )
        await self._done(interaction, embed=embed)


def _kind_word(locale: str | None, kind: LedgerKind) -> str:
    """A ledger entry's kind, in the admin's language."""
    match kind:
        case LedgerKind.RESERVE:
            return translate(locale, "reserved", context="reply")
        case LedgerKind.COMMIT:
            return translate(locale, "delivered", context="reply")
        case LedgerKind.REFUND:
            return translate(locale, "refunded", context="reply")
        case LedgerKind.GRANT:
            return translate(locale, "granted", context="reply")
        case _:
            assert_never(kind)
