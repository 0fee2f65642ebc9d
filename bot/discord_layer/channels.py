"""The Discord client as the collaborators see it. The composition root builds the
collaborators before the client (the client receives them), then attaches the client here."""

from __future__ import annotations

import discord


class ChannelGetter:
    """Resolves channel ids to messageables through the client, once it is attached."""

    def __init__(self) -> None:
        self._client: discord.Client | None = None

    def attach(self, client: discord.Client) -> None:
        self._client = client

    @property
    def client(self) -> discord.Client:
        if self._client is None:
            raise RuntimeError("no Discord client is attached yet")
        return self._client

    def get(self, channel_id: int, *, guild_id: int | None) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(channel_id, guild_id=guild_id)

    def preferred_locale(self, guild_id: int | None) -> str | None:
        """The server's preferred locale as the gateway last told it; None if unknown."""
        guild = None if guild_id is None else self.client.get_guild(guild_id)
        return None if guild is None else guild.preferred_locale.value
