"""/reelbot filter and review: what may be asked, and approval before generation."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.core import bounded
from bot.core.bounded import bounded_join
from bot.core.guild import store as guild_store
from bot.core.guild.models import GuildConfig
from bot.core.i18n import later, number, translate
from bot.core.moderation import InvalidRule, validate_rule
from bot.discord_layer.errors import BadRequest, locale_of
from bot.discord_layer.render import safe_text
from bot.discord_layer.translator import tr

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

from commands.admin._base import REVIEW_CHANNEL_FIRST, AdminGroup


class Filter(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(
            bot, name="filter", description=tr("command", "Blocked words and patterns")
        )

    async def _add_rule(
        self, interaction: discord.Interaction[VideoBot], kind: str, pattern: str
    ) -> None:
        try:
            cleaned = validate_rule(kind, pattern)
        except InvalidRule as error:
            problem = error.wording.text  # in the admin's language when shown
            raise BadRequest(
                later("reply", "That word can't be used: {problem}.", problem=problem)
                if kind == "word"
                else later("reply", "That regex can't be used: {problem}.", problem=problem)
            ) from error
        gid, actor, now = interaction.guild_id or 0, interaction.user.id, time.time()
        try:
            row = await self.bot.db.run(
                lambda s: guild_store.add_rule(
                    session=s, guild_id=gid, kind=kind, pattern=cleaned, actor_id=actor, now=now
                )
            )
        except guild_store.TooManyRules as error:
            raise BadRequest(
                later(
                    "reply",
                    "A server may have at most {count} filter rules; remove one first.",
                    count=guild_store.MAX_RULES,
                )
            ) from error
        await self._update(interaction, f"filter +{kind} #{row.id}")
        locale, shown = locale_of(interaction), safe_text(cleaned, 200)
        await self._done(
            interaction,
            translate(
                locale,
                "Added word rule #{number}: `{pattern}`.",
                context="reply",
                number=row.id,
                pattern=shown,
            )
            if kind == "word"
            else translate(
                locale,
                "Added regex rule #{number}: `{pattern}`.",
                context="reply",
                number=row.id,
                pattern=shown,
            ),
        )

    @app_commands.command(
        name="add-word", description=tr("command", "Block a word or phrase (any case or accents)")
    )
    @app_commands.describe(word=tr("command", "The word or phrase to block"))
    async def filter_add_word(
        self, interaction: discord.Interaction[VideoBot], word: app_commands.Range[str, 1, 100]
    ) -> None:
        await self._add_rule(interaction, "word", word)

    @app_commands.command(
        name="add-regex", description=tr("command", "Block prompts matching a regular expression")
    )
    @app_commands.describe(pattern=tr("command", "The regular expression to block"))
    async def filter_add_regex(
        self, interaction: discord.Interaction[VideoBot], pattern: app_commands.Range[str, 1, 200]
    ) -> None:
        await self._add_rule(interaction, "regex", pattern)

    @app_commands.command(
        name="remove", description=tr("command", "Remove a filter rule by its number")
    )
    @app_commands.describe(rule=tr("command", "The rule's number in /reelbot filter list"))
    async def filter_remove(self, interaction: discord.Interaction[VideoBot], rule: int) -> None:
        gid = interaction.guild_id or 0
        removed = await self.bot.db.run(
            lambda s: guild_store.remove_rule(session=s, guild_id=gid, rule_id=rule)
        )
        if removed:
            await self._update(interaction, f"filter -#{rule}")
        locale = locale_of(interaction)
        await self._done(
            interaction,
            translate(locale, "Removed rule #{number}.", context="reply", number=rule)
            if removed
            else translate(locale, "There is no rule #{number}.", context="reply", number=rule),
        )

    @app_commands.command(name="list", description=tr("command", "List the filter rules"))
    async def filter_list(self, interaction: discord.Interaction[VideoBot]) -> None:
        gid = interaction.guild_id or 0
        rows = await self.bot.db.run(lambda s: guild_store.rules(session=s, guild_id=gid))
        lines = [f"#{r.id} {r.kind}: `{safe_text(r.pattern, 200)}`" for r in rows]
        empty = translate(locale_of(interaction), "No filter rules.", context="reply")
        text = bounded_join(
            lines, sep="\n", limit=bounded.CONTENT, empty=empty, locale=locale_of(interaction)
        )
        await self._done(interaction, text)


class Review(AdminGroup):
    def __init__(self, bot: VideoBot) -> None:
        super().__init__(
            bot, name="review", description=tr("command", "Approval before generation")
        )

    @app_commands.command(
        name="channel",
        description=tr("command", "Where requests and flagged videos wait for moderators"),
    )
    @app_commands.describe(channel=tr("command", "The channel moderators watch"))
    async def review_channel(
        self, interaction: discord.Interaction[VideoBot], channel: discord.TextChannel
    ) -> None:
        await self._update(
            interaction, f"review channel {channel.id}", review_channel_id=channel.id
        )
        await self._done(
            interaction,
            translate(
                locale_of(interaction),
                "Reviews go to {channel}. Moderators there need Manage Messages.",
                context="reply",
                channel=channel.mention,
            ),
        )

    @app_commands.command(
        name="approval",
        description=tr("command", "Require a moderator's approval before generating"),
    )
    @app_commands.describe(
        enabled=tr("command", "On: requests wait for a moderator"),
        channel=tr("command", "Only this channel (leave empty for the whole server)"),
    )
    async def review_approval(
        self,
        interaction: discord.Interaction[VideoBot],
        enabled: bool,
        channel: discord.TextChannel | discord.ForumChannel | discord.VoiceChannel | None = None,
    ) -> None:

        def edit(config: GuildConfig) -> dict[str, Any]:
            if enabled and config.review_channel_id is None:
                raise BadRequest(REVIEW_CHANNEL_FIRST)
            if channel is None:
                return {"approval_everywhere": enabled}
            ids = set(config.approval_channel_ids)
            ids = ids | {channel.id} if enabled else ids - {channel.id}
            return {"approval_channel_ids": sorted(ids)}

        target = "everywhere" if channel is None else str(channel.id)
        await self._edit(interaction, f"approval {target} {enabled}", edit)
        await self._done(interaction, _approval_text(locale_of(interaction), enabled, channel))

    @app_commands.command(
        name="expiry", description=tr("command", "Hours after which a pending request is dropped")
    )
    @app_commands.describe(hours=tr("command", "Hours a request may wait (0.05-720)"))
    async def review_expiry(
        self,
        interaction: discord.Interaction[VideoBot],
        hours: app_commands.Range[float, 0.05, 720.0],
    ) -> None:
        await self._update(interaction, f"review expiry {hours}", review_expiry_hours=hours)
        locale = locale_of(interaction)
        await self._done(
            interaction,
            translate(
                locale,
                "Pending requests expire after {hours} h.",
                context="reply",
                hours=number(locale, hours),
            ),
        )


def _approval_text(
    locale: str | None, enabled: bool, channel: discord.abc.GuildChannel | None
) -> str:
    if channel is None:
        if enabled:
            return translate(
                locale, "Approval is required everywhere on this server.", context="reply"
            )
        return translate(
            locale, "Approval is not required everywhere on this server.", context="reply"
        )
    if enabled:
        return translate(
            locale, "Approval is required in {channel}.", context="reply", channel=channel.mention
        )
    return translate(
        locale, "Approval is not required in {channel}.", context="reply", channel=channel.mention
    )
