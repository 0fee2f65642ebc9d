"""Channel permissions as Discord computes them, for the bot's own requests and for the
``app_permissions`` of interactions.

Discord docs, topics/permissions ("Permission Overwrites"): start from the OR of the member's
roles (@everyone included), then apply the channel's overwrites in order: the @everyone
overwrite (deny, then allow), all the member's role overwrites together (deny, then allow), and
the member's own overwrite (deny, then allow). Administrator skips all of that.

Discord docs, topics/threads and resources/channel: a thread (types 10, 11, 12; a forum post is
a type 11 thread whose parent is the forum) has no overwrites of its own; it takes its parent
channel's. topics/permissions: "SEND_MESSAGES permission is not inherited; users must have
SEND_MESSAGES_IN_THREADS to send a message in a thread".
"""

from __future__ import annotations

from typing import Any

import discord

JSON = dict[str, Any]

#: resources/channel: ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD
THREAD_TYPES = frozenset({10, 11, 12})
GUILD_VOICE = 2
GUILD_FORUM = 15

ADMINISTRATOR = discord.Permissions(administrator=True).value
VIEW_CHANNEL = discord.Permissions(view_channel=True).value
SEND_MESSAGES = discord.Permissions(send_messages=True).value
SEND_MESSAGES_IN_THREADS = discord.Permissions(send_messages_in_threads=True).value
ATTACH_FILES = discord.Permissions(attach_files=True).value
READ_MESSAGE_HISTORY = discord.Permissions(read_message_history=True).value


def is_thread(channel: JSON) -> bool:
    return int(channel.get("type", 0)) in THREAD_TYPES


def compute(
    *,
    guild_id: int,
    roles: dict[int, JSON],
    member_id: int,
    member_role_ids: list[int],
    channel: JSON,
    parent: JSON | None,
) -> int:
    """The member's permissions in ``channel`` (a thread's come from ``parent``)."""
    base = int(roles[guild_id]["permissions"])
    for role_id in member_role_ids:
        role = roles.get(role_id)
        if role is not None:
            base |= int(role["permissions"])
    if base & ADMINISTRATOR:
        return discord.Permissions.all().value
    source = parent if is_thread(channel) and parent is not None else channel
    overwrites = {str(o["id"]): o for o in source.get("permission_overwrites", [])}
    permissions = base
    everyone = overwrites.get(str(guild_id))
    if everyone is not None:
        permissions = (permissions & ~int(everyone["deny"])) | int(everyone["allow"])
    deny = allow = 0
    for role_id in member_role_ids:
        overwrite = overwrites.get(str(role_id))
        if overwrite is not None and int(overwrite.get("type", 0)) == 0:
            deny |= int(overwrite["deny"])
            allow |= int(overwrite["allow"])
    permissions = (permissions & ~deny) | allow
    own = overwrites.get(str(member_id))
    if own is not None and int(own.get("type", 1)) == 1:
        permissions = (permissions & ~int(own["deny"])) | int(own["allow"])
    if not permissions & VIEW_CHANNEL:
        return 0  # topics/permissions: without View Channel, nothing else applies
    return permissions


def missing_to_post(permissions: int, *, thread: bool, files: bool) -> str | None:
    """What creating a message lacks, or None. resources/message ("Create Message"): needs
    SEND_MESSAGES (in a thread SEND_MESSAGES_IN_THREADS, topics/permissions); uploads need
    ATTACH_FILES."""
    if not permissions & VIEW_CHANNEL:
        return "view"
    send = SEND_MESSAGES_IN_THREADS if thread else SEND_MESSAGES
    if not permissions & send:
        return "send"
    if files and not permissions & ATTACH_FILES:
        return "attach"
    return None
