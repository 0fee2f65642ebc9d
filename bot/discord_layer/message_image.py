"""The member's image on a message the bot posted, wherever Discord lists it.

A file an embed shows through `attachment://filename` (reference, "Uploading Files") is
served inside the embed, as the attachment's signed CDN URL, and is no longer listed in the
message's `attachments`; a file no embed names is an ordinary attachment. Both are read here,
so the status and review messages can show the image in their embeds."""

from __future__ import annotations

import io
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import discord

from bot.core.images import check_size

SCHEME = "attachment://"


def upload(image: tuple[bytes, str] | None) -> dict[str, Any]:
    """The `file=` keyword that posts `image` (bytes, file name) with a message, or none.
    Built afresh for every attempt: discord.py closes a message's files once it has sent them."""
    if image is None:
        return {}
    return {"file": discord.File(io.BytesIO(image[0]), filename=image[1])}


def embedded_name(url: str | None) -> str | None:
    """The file name at the end of a Discord attachment URL (None: no URL)."""
    if not url:
        return None
    return unquote(PurePosixPath(urlsplit(url).path).name) or None


def image_url(message: discord.Message) -> str | None:
    """The URL of the message's image as Discord signed it for this fetch."""
    if message.attachments:
        return message.attachments[0].url
    for embed in message.embeds:
        for media in (embed.thumbnail, embed.image):
            if media.url and not media.url.startswith(SCHEME):
                return media.url
    return None


async def read_image(message: discord.Message, client: discord.Client) -> tuple[bytes, str]:
    """The image's bytes and file name. Raises `LookupError` when the message has none,
    `ImageRejected` when it is over the providers' cap, `discord.HTTPException` when Discord
    refuses the download."""
    if message.attachments:
        attachment = message.attachments[0]
        check_size(attachment.size)
        return await attachment.read(), attachment.filename
    url = image_url(message)
    name = embedded_name(url)
    if url is None or name is None:
        raise LookupError("the message carries no image")
    data = await client.http.get_from_cdn(url)
    check_size(len(data))
    return data, name
