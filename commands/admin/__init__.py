"""/reelbot: a server's own rules, for members with Manage Server. Hidden from others by
default and checked again on every call, whatever Discord showed (see `AdminGroup`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from commands.admin._access import Channels, Members, Roles
from commands.admin._defaults import ChannelDefaults
from commands.admin._language import language_command
from commands.admin._limits import Providers, Tiers
from commands.admin._moderation import Filter, Review
from commands.admin._server import Reelbot
from commands.admin._usage import failover_command, usage_command

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot


def build(bot: VideoBot) -> Reelbot:
    root = Reelbot(bot)
    for group in (Channels, Roles, Members, Tiers, Filter, Providers, Review):
        root.add_command(group(bot))
    root.add_command(language_command(bot))
    root.add_command(usage_command)
    root.add_command(failover_command)
    return root


async def setup(bot: VideoBot) -> None:
    bot.tree.add_command(build(bot))
    bot.tree.add_command(ChannelDefaults(bot))
