"""The bare discord.py bot of `benchmarks.ack_floor`: the bot's client settings and its `/video`
command, whose callback only defers. The least any discord.py bot does before it acknowledges
a command. Imported only by the child process."""

from __future__ import annotations

import os

import discord
import yarl
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from commands.generate import ASPECTS, DURATIONS, RESOLUTIONS, Prompt, Seed
from providers import ProviderName

PROVIDERS = [Choice(name=p.label, value=p.value) for p in ProviderName]


@app_commands.command(name="video", description="Make a short video from a prompt")
@app_commands.guild_only()
@app_commands.choices(provider=PROVIDERS, aspect_ratio=ASPECTS, resolution=RESOLUTIONS)
@app_commands.choices(duration=DURATIONS)
async def video(
    interaction: discord.Interaction,
    prompt: Prompt,
    provider: str | None = None,
    aspect_ratio: str | None = None,
    duration: int | None = None,
    resolution: str | None = None,
    seed: Seed | None = None,
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)


def main(guild_id: int) -> int:
    discord.http.Route.BASE = os.environ["DISCORD_API_BASE_URL"].rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])
    bot = commands.AutoShardedBot(  # as `bot.discord_layer.client.VideoBot` sets it up
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        help_command=None,
        allowed_mentions=discord.AllowedMentions.none(),
        max_messages=None,
    )
    guild = discord.Object(guild_id)
    bot.tree.add_command(video, guild=guild)

    async def setup_hook() -> None:
        await bot.tree.sync(guild=guild)

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    bot.run(os.environ["DISCORD_TOKEN"], log_handler=None)
    return 0
