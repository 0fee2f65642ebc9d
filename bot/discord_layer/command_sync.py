"""Registering the slash commands with Discord at start-up, only where they changed.

What Discord already has is read back (`GET .../commands`) and compared with the payload
discord.py would send; a bulk overwrite (`PUT`) is sent only when they differ. Reading
Discord's copy, rather than remembering what this process last sent, stays right across
restarts, several processes and a command changed by hand in the meantime.

A server that refuses the sync (403 Missing Access, code 50001: the bot is not in it, or was
invited without the applications.commands scope) is logged with what to do and skipped; it
never stops the bot. With per-server commands, global commands left from an earlier global
sync are removed, so members do not see every command twice."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.core.settings import Settings

log = logging.getLogger(__name__)

# Fields Discord adds to a registered command that the client never sends.
_SERVER_FIELDS = frozenset(
    {"id", "application_id", "guild_id", "version", "name_localized", "description_localized"}
)


async def sync_commands_once(tree: app_commands.CommandTree[Any], settings: Settings) -> None:
    """Sync from one process only: the one holding shard 0 (or every shard). Commands are
    per bot, not per shard, so the other processes would only repeat the same writes."""
    if not settings.syncs_commands:
        log.info(
            "not syncing commands: shards %s of %s are in this process, and the process "
            "holding shard 0 syncs them",
            ",".join(map(str, settings.discord_shard_ids or [])),
            settings.discord_shard_count,
        )
        return
    await sync_commands(tree, settings.discord_guild_ids)


async def sync_commands(tree: app_commands.CommandTree[Any], guild_ids: list[int]) -> None:
    """Sync the tree's commands to each server in `guild_ids`, or globally when it is empty."""
    if not guild_ids:
        await _sync_logged(tree, None)
        return
    synced_somewhere = False
    for guild_id in guild_ids:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        synced_somewhere |= await _sync_logged(tree, guild)
    if synced_somewhere:
        await _remove_global_commands(tree)


async def _sync_logged(tree: app_commands.CommandTree[Any], guild: discord.Object | None) -> bool:
    where = "globally" if guild is None else f"to server {guild.id}"
    try:
        changed = await _sync_if_changed(tree, guild)
    except discord.Forbidden as error:
        log.warning(
            "could not sync commands %s: Discord answered %s (code %s, %s). The bot is not in "
            "that server or was invited without the applications.commands scope: invite it "
            "again with that scope, or remove the id from DISCORD_GUILD_IDS. Skipping it.",
            where,
            error.status,
            error.code,
            error.text or "Missing Access",
        )
        return False
    except discord.HTTPException as error:
        log.warning(
            "could not sync commands %s: Discord answered %s (code %s, %s); the commands "
            "registered before stay in place. Skipping it.",
            where,
            error.status,
            error.code,
            error.text,
        )
        return False
    if changed:
        log.info("synced commands %s", where)
    else:
        log.info("commands %s are up to date; nothing to sync", where)
    return True


async def _sync_if_changed(
    tree: app_commands.CommandTree[Any], guild: discord.Object | None
) -> bool:
    wanted = await _payload(tree, guild)
    registered = await _registered(tree, guild)
    if same_commands(wanted, registered):
        return False
    await tree.sync(guild=guild)
    return True


async def _remove_global_commands(tree: app_commands.CommandTree[Any]) -> None:
    try:
        registered = await _registered(tree, None)
        if not registered:
            return
        application_id = _application_id(tree)
        await tree.client.http.bulk_upsert_global_commands(application_id, payload=[])
    except discord.HTTPException as error:
        log.warning(
            "could not remove the old global commands (%s, code %s); members may see some "
            "commands twice until they are removed",
            error.status,
            error.code,
        )
        return
    log.info(
        "removed %d global commands left from an earlier global sync: commands are now "
        "registered per server (DISCORD_GUILD_IDS)",
        len(registered),
    )


def _application_id(tree: app_commands.CommandTree[Any]) -> int:
    application_id: int | None = tree.client.application_id
    if application_id is None:
        raise app_commands.MissingApplicationID
    return application_id


async def _payload(
    tree: app_commands.CommandTree[Any], guild: discord.Object | None
) -> list[dict[str, Any]]:
    """Exactly what `CommandTree.sync` would send."""
    commands = tree.get_commands(guild=guild)
    translator = tree.translator
    if translator is not None:
        return [await c.get_translated_payload(tree, translator) for c in commands]
    return [c.to_dict(tree) for c in commands]


async def _registered(
    tree: app_commands.CommandTree[Any], guild: discord.Object | None
) -> list[dict[str, Any]]:
    http = tree.client.http
    application_id = _application_id(tree)
    if guild is None:
        found = await http.get_global_commands(application_id)
    else:
        found = await http.get_guild_commands(application_id, guild.id)
    return [dict(c) for c in found]


def same_commands(wanted: list[dict[str, Any]], registered: list[dict[str, Any]]) -> bool:
    """True when Discord's registered commands already match the payload we would send."""

    def key(command: dict[str, Any]) -> tuple[int, str]:
        return int(command.get("type") or 1), str(command.get("name"))

    mine = {key(c): c for c in wanted}
    theirs = {key(c): c for c in registered}
    return mine.keys() == theirs.keys() and all(_same(mine[k], theirs[k]) for k in mine)


def _empty(value: Any) -> bool:
    return value is None or value is False or value == [] or value == {} or value == ""


def _same(mine: Any, theirs: Any) -> bool:
    """Compare what we send with what Discord stored, field by field of what we send: fields
    Discord adds (ids, versions, defaults of newer API versions) are ignored, and an empty
    value (None, False, [], {}, "") equals a field Discord leaves out."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return all(_same(v, theirs.get(k)) for k, v in mine.items() if k not in _SERVER_FIELDS)
    if isinstance(mine, list) and isinstance(theirs, list):
        return len(mine) == len(theirs) and all(
            _same(a, b) for a, b in zip(mine, theirs, strict=True)
        )
    if _empty(mine) and _empty(theirs):
        return True
    if isinstance(mine, bool) or isinstance(theirs, bool):
        return mine is theirs
    if isinstance(mine, int) and isinstance(theirs, str) and theirs.isdigit():
        return mine == int(theirs)  # permissions: sent as an integer, stored as a string
    return bool(mine == theirs)
