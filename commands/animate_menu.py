"""The "Animate" message command (right-click a message → Apps → Animate): a modal asks for
the prompt, then the message's image becomes an image-to-video job, by the same path and with
the same checks as /animate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.core.i18n import translate
from bot.core.images import ImageRejected, check_size
from bot.core.starting import JobSpec
from bot.discord_layer.errors import BadRequest, member_text, report
from providers import MAX_PROMPT_CHARS, Mode

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot

#: Message command names may have capitals and spaces, 1-32 characters.
NAME = "Animate"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Discord: a modal's title and a text input's label hold at most 45 characters
#: (interactions/receiving-and-responding, components/reference); the catalogue test checks
#: every translation of these two against it.
MODAL_LIMIT = 45


def image_of(message: discord.Message) -> discord.Attachment | str | None:
    """The message's first image: an attachment, else an embedded image through Discord's
    media proxy (never the original site's address: the bot fetches only from Discord)."""
    for attachment in message.attachments:
        kind = attachment.content_type or ""
        if kind.startswith("image/") or attachment.filename.lower().endswith(IMAGE_SUFFIXES):
            return attachment
    for embed in message.embeds:
        for media in (embed.image, embed.thumbnail):
            proxied = getattr(media, "proxy_url", None)
            if proxied:
                return str(proxied)
    return None


async def read_image(bot: VideoBot, source: discord.Attachment | str, locale: str) -> bytes:
    try:
        if isinstance(source, discord.Attachment):
            check_size(source.size)
            return await source.read()
        data = await bot.http.get_from_cdn(source)
        check_size(len(data))
        return data
    except ImageRejected as error:
        raise BadRequest(member_text(error, locale)) from error
    except discord.HTTPException as error:
        raise BadRequest(
            translate(
                locale,
                "I couldn't download that image from Discord; it may have been deleted.",
                context="message",
            )
        ) from error


class PromptModal(discord.ui.Modal):
    def __init__(self, bot: VideoBot, source: discord.Attachment | str, locale: str) -> None:
        super().__init__(
            title=translate(locale, "Animate this image", context="message"), timeout=900
        )
        self.bot = bot
        self.source = source
        self.prompt: discord.ui.TextInput[PromptModal] = discord.ui.TextInput(
            label=translate(locale, "What should happen in the video?", context="message"),
            style=discord.TextStyle.paragraph,
            min_length=1,
            max_length=MAX_PROMPT_CHARS,
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction[VideoBot]) -> None:  # type: ignore[override]
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await read_image(self.bot, self.source, interaction.locale.value)
        await self.bot.actions.submit(
            interaction, JobSpec(mode=Mode.IMAGE, prompt=self.prompt.value, image=data)
        )

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[VideoBot], error: Exception
    ) -> None:
        await report(interaction, error)


def build(bot: VideoBot) -> app_commands.ContextMenu:
    @app_commands.guild_only()
    async def animate(interaction: discord.Interaction[VideoBot], message: discord.Message) -> None:
        locale = interaction.locale.value
        source = image_of(message)
        if source is None:
            await interaction.response.send_message(
                translate(
                    locale,
                    "That message has no image to animate. Use Animate on a message with a "
                    "JPEG or PNG attached or embedded. Nothing was charged.",
                    context="message",
                ),
                ephemeral=True,
            )
            return
        await interaction.response.send_modal(PromptModal(bot, source, locale))

    return app_commands.ContextMenu(name=NAME, callback=animate)


async def setup(bot: VideoBot) -> None:
    bot.tree.add_command(build(bot))
