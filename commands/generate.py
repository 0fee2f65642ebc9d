"""/video and /animate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot.core.i18n import later
from bot.core.images import ImageRejected, check_size
from bot.core.starting import JobSpec
from bot.discord_layer.errors import BadRequest
from bot.discord_layer.translator import tr
from providers import ASPECT_RATIOS, MAX_PROMPT_CHARS, MAX_SEED, Mode, ProviderName

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

DURATIONS: list[Choice[int]] = [
    Choice(name=tr("choice", "5 seconds"), value=5),
    Choice(name=tr("choice", "10 seconds"), value=10),
]
RESOLUTIONS: list[Choice[str]] = [Choice(name=r, value=r) for r in ("720P", "1080P")]
ASPECTS: list[Choice[str]] = [Choice(name=r, value=r) for r in ASPECT_RATIOS]
#: What each video option means, for the commands that take it (/video, /animate, the
#: member's and the channel's defaults): `@app_commands.describe(**options("provider", ...))`.
OPTION_TEXTS: dict[str, app_commands.locale_str] = {
    "prompt": tr("command", "What should happen in the video (up to 800 characters)"),
    "provider": tr("command", "Which service makes it"),
    "aspect_ratio": tr("command", "Shape of the video"),
    "duration": tr("command", "Length of the clip"),
    "resolution": tr("command", "Picture quality"),
    "seed": tr("command", "Same seed + same prompt = similar video (-1 for random)"),
}
Seed = app_commands.Range[int, -1, MAX_SEED]
Prompt = app_commands.Range[str, 1, MAX_PROMPT_CHARS]


def options(*names: str) -> dict[str, app_commands.locale_str]:
    """The descriptions of the named video options."""
    return {name: OPTION_TEXTS[name] for name in names}


def _provider(value: str | None) -> ProviderName | None:
    """A modified client can send any string: name what would work instead."""
    if not value:
        return None
    try:
        return ProviderName(value)
    except ValueError:
        choices = ", ".join(p.value for p in ProviderName)
        raise BadRequest(
            later(
                "reply",
                "There is no provider called that; choose one of {choices}.",
                choices=choices,
            )
        ) from None


def make_cog(bot: VideoBot) -> commands.Cog:
    """The commands are built here so `provider` offers only the configured providers."""
    providers: list[Choice[str]] = [Choice(name=n.label, value=n.value) for n in bot.provider_order]

    class Generate(commands.Cog):
        def __init__(self, bot: VideoBot) -> None:
            self.bot = bot

        @app_commands.command(
            name="video", description=tr("command", "Make a short video from a prompt")
        )
        @app_commands.guild_only()
        @app_commands.describe(
            **options("prompt", "provider", "aspect_ratio", "duration", "resolution", "seed")
        )
        @app_commands.choices(provider=providers, aspect_ratio=ASPECTS, resolution=RESOLUTIONS)
        @app_commands.choices(duration=DURATIONS)
        async def video(
            self,
            interaction: discord.Interaction[VideoBot],
            prompt: Prompt,
            provider: str | None = None,
            aspect_ratio: str | None = None,
            duration: int | None = None,
            resolution: str | None = None,
            seed: Seed | None = None,
        ) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await self.bot.actions.submit(
                interaction,
                JobSpec(
                    mode=Mode.TEXT,
                    prompt=prompt,
                    provider=_provider(provider),
                    aspect_ratio=aspect_ratio,
                    duration=duration,
                    resolution=resolution,
                    seed=seed,
                ),
            )

        @app_commands.command(
            name="animate", description=tr("command", "Bring an image to life as a video")
        )
        @app_commands.guild_only()
        @app_commands.describe(
            image=tr("command", "A JPEG or PNG, under 4.7 MB, sides 320–4096 px, at most 3:1"),
            **options("prompt", "provider", "duration", "resolution", "seed"),
        )
        @app_commands.choices(provider=providers, resolution=RESOLUTIONS)
        @app_commands.choices(duration=DURATIONS)
        async def animate(
            self,
            interaction: discord.Interaction[VideoBot],
            image: discord.Attachment,
            prompt: Prompt,
            provider: str | None = None,
            duration: int | None = None,
            resolution: str | None = None,
            seed: Seed | None = None,
        ) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            try:
                check_size(image.size)
            except ImageRejected as error:
                raise BadRequest(error.wording) from error
            try:
                data = await image.read()
            except discord.HTTPException as error:
                raise BadRequest(
                    later(
                        "reply",
                        "I couldn't download your image from Discord; please attach it again.",
                    )
                ) from error
            await self.bot.actions.submit(
                interaction,
                JobSpec(
                    mode=Mode.IMAGE,
                    prompt=prompt,
                    provider=_provider(provider),
                    duration=duration,
                    resolution=resolution,
                    seed=seed,
                    image=data,
                ),
            )

    return Generate(bot)


async def setup(bot: VideoBot) -> None:
    await bot.add_cog(make_cog(bot))
