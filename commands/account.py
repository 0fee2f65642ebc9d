"""/quota, /jobs and /forget: a member's own numbers, shown to them alone, in their own
language (their Discord client's locale)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import Refusal
from bot.core.guild.policy import admit
from bot.core.i18n import ngettext, number, translate
from bot.core.jobs import store
from bot.discord_layer import account_text, render
from bot.discord_layer.actions import requester_of
from bot.discord_layer.errors import locale_of
from bot.discord_layer.translator import tr

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot


class Account(commands.Cog):
    def __init__(self, bot: VideoBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="quota", description=tr("command", "How many videos you can still make")
    )
    @app_commands.guild_only()
    async def quota(self, interaction: discord.Interaction[VideoBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = locale_of(interaction)
        policy = self.bot.runner.config.quota
        note = ""
        rules = await self.bot.lookups.guild_rules(interaction.guild_id, interaction.user.id)
        try:
            admission = admit(
                config=rules.config,
                tiers=rules.tiers,
                block=rules.block,
                who=requester_of(interaction),
                base=policy,
                configured=self.bot.provider_order,
            )
            policy = admission.policy
            if admission.tier_name:
                note = translate(
                    locale,
                    "Your tier ({tier}): clips up to {seconds} s at up to {resolution}.",
                    context="reply",
                    tier=admission.tier_name,
                    seconds=number(locale, admission.max_duration),
                    resolution=admission.max_resolution,
                )
        except Refusal as refusal:
            note = refusal.render(render.safe_text, locale)
        usage = await self.bot.lookups.usage(
            guild_id=interaction.guild_id, user_id=interaction.user.id, policy=policy
        )
        lines = [
            account_text.used(locale, usage, policy),
            account_text.costs(locale, policy),
            account_text.in_progress(locale, usage),
        ]
        if usage.frees_at is not None:
            lines.append(account_text.frees_up(locale, usage.frees_at))
        if note:
            lines.append(note)
        await interaction.edit_original_response(content="\n".join(lines))

    @app_commands.command(
        name="jobs", description=tr("command", "Your recent videos and their state")
    )
    @app_commands.guild_only()
    async def jobs(self, interaction: discord.Interaction[VideoBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = locale_of(interaction)
        guild_id, user_id = interaction.guild_id, interaction.user.id
        jobs = await self.bot.db.run(
            lambda s: store.recent_jobs(session=s, guild_id=guild_id, user_id=user_id, limit=10)
        )
        if not jobs:
            await interaction.edit_original_response(
                content=translate(locale, "You haven't made any videos yet.", context="reply")
            )
            return
        embed = discord.Embed(
            title=translate(locale, "Your recent videos", context="reply_title"),
            colour=discord.Colour.blurple(),
        )
        now = time.time()
        for job in jobs:
            embed.add_field(
                name=account_text.state_word(locale, job.state),
                value=account_text.summary(locale, job, now=now),
                inline=False,
            )
        await interaction.edit_original_response(embed=embed)

    @app_commands.command(
        name="forget",
        description=tr("command", "Erase your stored prompts on this server (quota counts stay)"),
    )
    @app_commands.guild_only()
    async def forget(self, interaction: discord.Interaction[VideoBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id, user_id = interaction.guild_id or 0, interaction.user.id
        erased, kept = await self.bot.db.run(
            lambda s: store.erase_prompts(session=s, guild_id=guild_id, user_id=user_id)
        )
        locale = locale_of(interaction)
        text = ngettext(
            locale,
            "Erased the prompts of your {count} finished video request from my records, audit "
            "log included. Your quota counts are kept. Videos already posted stay in their "
            "channels; use their Delete button to remove them.",
            "Erased the prompts of your {count} finished video requests from my records, audit "
            "log included. Your quota counts are kept. Videos already posted stay in their "
            "channels; use their Delete button to remove them.",
            erased,
            context="reply",
            count=number(locale, erased),
        )
        if kept:
            text += "\n" + ngettext(
                locale,
                "Your {count} unfinished request still needs its prompt; run /forget again "
                "when it is done, or cancel it first.",
                "Your {count} unfinished requests still need their prompts; run /forget again "
                "when they are done, or cancel them first.",
                kept,
                context="reply",
                count=number(locale, kept),
            )
        await interaction.edit_original_response(content=text)


async def setup(bot: VideoBot) -> None:
    await bot.add_cog(Account(bot))
