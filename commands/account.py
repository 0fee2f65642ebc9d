"""/quota and /jobs: a member's own numbers, shown to them alone."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import Refusal
from bot.core.guild.policy import admit
from bot.core.jobs import store
from bot.core.jobs.models import JobState
from bot.discord_layer import render
from bot.discord_layer.actions import requester_of
from bot.discord_layer.translator import tr
from bot.discord_layer.usage_text import cost_text

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
                note = (
                    f"Your tier ({admission.tier_name}): clips up to {admission.max_duration} s "
                    f"at up to {admission.max_resolution}."
                )
        except Refusal as refusal:
            note = refusal.render(render.safe_text)
        usage = await self.bot.lookups.usage(
            guild_id=interaction.guild_id, user_id=interaction.user.id, policy=policy
        )
        window = (
            "today (UTC)" if policy.daily else f"in the last {policy.window_seconds / 3600:g} h"
        )
        lines = [
            f"**Used:** {usage.used} of {usage.limit} units {window} (**{usage.remaining} left**).",
            f"A 5-second clip costs {policy.cost_5s}, a 10-second clip {policy.cost_10s}.",
            f"**In progress:** {usage.in_flight} of at most {usage.max_in_flight} at a time.",
        ]
        if usage.frees_at is not None:
            when = int(usage.frees_at)
            lines.append(f"Your oldest unit frees up <t:{when}:R> (<t:{when}:f>).")
        if note:
            lines.append(note)
        await interaction.edit_original_response(content="\n".join(lines))

    @app_commands.command(
        name="jobs", description=tr("command", "Your recent videos and their state")
    )
    @app_commands.guild_only()
    async def jobs(self, interaction: discord.Interaction[VideoBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id, user_id = interaction.guild_id, interaction.user.id
        jobs = await self.bot.db.run(
            lambda s: store.recent_jobs(session=s, guild_id=guild_id, user_id=user_id, limit=10)
        )
        if not jobs:
            await interaction.edit_original_response(content="You haven't made any videos yet.")
            return
        embed = discord.Embed(title="Your recent videos", colour=discord.Colour.blurple())
        now = time.time()
        for job in jobs:
            message_id = job.result_message_id or job.status_message_id
            link = (
                f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{message_id}"
                if message_id
                else "no message"
            )
            state = _STATE_WORDS[job.state]
            when = int(job.created_at) if job.created_at <= now else int(now)
            prompt = render.safe_text(job.prompt or "(prompt erased)", 80)
            embed.add_field(
                name=state,
                value=(
                    f"{prompt}\n<t:{when}:R> · {render.provider_label(job)} · "
                    f"{job.duration} s · "
                    f"{cost_text(0 if job.refunded else job.cost, str(interaction.locale))} · "
                    f"[open]({link})"
                ),
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
        text = (
            f"Erased the prompts of your {erased} finished video request(s) from my records, "
            "audit log included. Your quota counts are kept. Videos already posted stay in "
            "their channels; use their Delete button to remove them."
        )
        if kept:
            text += (
                f"\nYour {kept} unfinished request(s) still need their prompts; run /forget "
                "again when they are done, or cancel them first."
            )
        await interaction.edit_original_response(content=text)


_STATE_WORDS = {
    JobState.PENDING_REVIEW: "🛡️ awaiting review",
    JobState.HELD: "🛡️ held for review",
    JobState.REJECTED: "🚫 not approved",
    JobState.ACCEPTED: "⏳ waiting",
    JobState.SUBMITTING: "📨 sending",
    JobState.SUBMITTED: "🕒 queued",
    JobState.RUNNING: "🎬 generating",
    JobState.DOWNLOADING: "📦 finishing",
    JobState.DELIVERING: "📦 posting",
    JobState.DELIVERED: "✅ delivered",
    JobState.FAILED: "❌ failed (refunded)",
    JobState.CANCELLED: "🚫 cancelled (refunded)",
    JobState.UNKNOWN: "❔ unknown (held for an admin)",
}


async def setup(bot: VideoBot) -> None:
    await bot.add_cog(Account(bot))
