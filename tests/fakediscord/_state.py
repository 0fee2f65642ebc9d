"""Data model of the fake Discord: the world (guilds, channels, members), the records
(messages, interactions, requests) and the payload builders shared by REST and gateway."""

from __future__ import annotations

import asyncio
import copy
import datetime
import hashlib
import hmac
import io
import itertools
import mimetypes
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import discord

from . import _permissions
from ._hold import Hold
from ._ratelimit import RateLimits

JSON = dict[str, Any]

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12

#: What a fresh server's @everyone role (and, by default, a member) may do.
DEFAULT_MEMBER_PERMISSIONS: int = discord.Permissions(
    create_instant_invite=True,
    add_reactions=True,
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    use_external_emojis=True,
    use_external_stickers=True,
    connect=True,
    speak=True,
    change_nickname=True,
    use_application_commands=True,
    send_messages_in_threads=True,
    create_public_threads=True,
).value

#: What the bot may do in every channel (``app_permissions``), unless a channel is denied.
BOT_PERMISSIONS: int = (
    discord.Permissions.all().value & ~discord.Permissions(administrator=True).value
)

#: Permissions a denied channel takes away from the bot.
DENIED_CHANNEL_PERMISSIONS: int = discord.Permissions(
    send_messages=True, attach_files=True, embed_links=True, send_messages_in_threads=True
).value

ALL_PERMISSIONS: int = discord.Permissions.all().value

_ERROR_MESSAGES: dict[int, str] = {
    50001: "Missing Access",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
}


ATTACHMENT_SCHEME = "attachment://"


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


class Snowflakes:
    """Time-based, strictly increasing snowflake ids (so discord.py's ``created_at`` is now)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


@dataclass
class ApiError(Exception):
    """An error answer of the fake REST API (also raised internally to short-circuit)."""

    status: int
    code: int
    message: str
    errors: JSON | None = None
    headers: dict[str, str] | None = None

    def body(self) -> JSON:
        body: JSON = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


@dataclass
class FakeFile:
    """One uploaded file (a multipart ``files[n]`` part)."""

    filename: str
    content_type: str | None
    data: bytes
    index: int = 0
    description: str | None = None
    spoiler: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class RecordedRequest:
    """One HTTP request the fake received (the Authorization header is redacted)."""

    method: str
    path: str  # relative to the API base for REST calls ("/channels/1/messages"), else the raw path
    query: dict[str, str]
    json: Any
    files: list[FakeFile]
    headers: dict[str, str]
    time: float  # time.monotonic()
    status: int | None = None
    authorized: bool = False

    def __repr__(self) -> str:
        return f"<RecordedRequest {self.method} {self.path} -> {self.status}>"


def _walk_components(components: list[JSON]) -> Iterator[JSON]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        for key in ("component", "accessory"):
            inner = component.get(key)
            if isinstance(inner, dict):
                yield from _walk_components([inner])


@dataclass
class FakeMessage:
    """A message the bot created (channel post, webhook follow-up or interaction response)."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    via: Literal["channel", "webhook", "original"]
    content: str | None = None
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    flags: int = 0
    allowed_mentions: JSON | None = None
    files: list[FakeFile] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    edits: list[JSON] = field(default_factory=list)
    deleted: bool = False
    interaction_id: int | None = None
    webhook_id: int | None = None
    message_reference: JSON | None = None
    tts: bool = False
    type: int = 0
    payload: JSON = field(default_factory=dict)  # the create payload exactly as sent
    mention_everyone: bool = False
    mentioned_user_ids: list[int] = field(default_factory=list)
    mentioned_role_ids: list[int] = field(default_factory=list)
    reactions: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.monotonic)
    timestamp: str = field(default_factory=now_iso)
    edited_timestamp: str | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while this is a deferred "Bot is thinking..." placeholder."""
        return bool(self.flags & FLAG_LOADING)

    def all_components(self) -> list[JSON]:
        """Every component on the message, nested ones included (rows, sections, labels)."""
        return list(_walk_components(self.components))

    def custom_ids(self) -> list[str]:
        return [str(c["custom_id"]) for c in self.all_components() if "custom_id" in c]

    def component(self, custom_id: str) -> JSON | None:
        for c in self.all_components():
            if c.get("custom_id") == custom_id:
                return c
        return None

    def text(self) -> str:
        """Content plus every embed's title, description, fields, author and footer."""
        parts: list[str] = [self.content or ""]
        for embed in self.embeds:
            parts.append(str(embed.get("title") or ""))
            parts.append(str(embed.get("description") or ""))
            for fld in embed.get("fields") or []:
                parts.append(f"{fld.get('name', '')}\n{fld.get('value', '')}")
            parts.append(str((embed.get("author") or {}).get("name") or ""))
            parts.append(str((embed.get("footer") or {}).get("text") or ""))
        return "\n".join(p for p in parts if p)

    def __repr__(self) -> str:
        return (
            f"<FakeMessage id={self.id} via={self.via} channel={self.channel_id} "
            f"flags={self.flags} content={self.content!r} files={[f.filename for f in self.files]}"
            f"{' deleted' if self.deleted else ''}>"
        )


@dataclass
class FakeInteraction:
    """Handle on an INTERACTION_CREATE the fake dispatched, with everything the bot answered."""

    id: int
    token: str
    type: int
    name: str  # command name, component custom_id or modal custom_id
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: JSON
    created_at: float = field(default_factory=time.monotonic)  # time.monotonic() at dispatch
    #: accepted interaction callback payloads ({"type": 4|5|6|7|8|9, "data": ...})
    callbacks: list[JSON] = field(default_factory=list)
    #: callbacks answered with an error (late ack 10062, already acknowledged 40060, 50027)
    rejected_callbacks: list[JSON] = field(default_factory=list)
    #: seconds between dispatch and the first accepted callback
    acknowledged_at: float | None = None
    #: the @original message: created by callback 4, the "thinking" placeholder of callback 5
    #: (flag 128 until edited or filled), or the clicked message for callbacks 6/7
    original: FakeMessage | None = None
    #: messages sent with POST /webhooks/{app}/{token}. As on Discord, the first follow-up after
    #: a type 5 defer fills the "thinking" message instead of creating one: that entry *is*
    #: ``original`` (same object, via "original", keeping the defer's ephemeral flag).
    followups: list[FakeMessage] = field(default_factory=list)
    message_id: int | None = None  # the message a component/modal interaction came from
    expired: bool = False
    deferred_followup_pending: bool = (
        False  # deferred type 5: the first follow-up fills the original
    )

    @property
    def ephemeral(self) -> bool:
        """Whether the first accepted callback carried flag 64."""
        if not self.callbacks:
            return False
        data = self.callbacks[0].get("data") or {}
        return bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def response_type(self) -> int | None:
        return int(self.callbacks[0]["type"]) if self.callbacks else None

    @property
    def deferred(self) -> bool:
        return self.response_type in (5, 6)

    @property
    def choices(self) -> list[JSON] | None:
        """The autocomplete choices the bot answered with (callback type 8), if any."""
        for cb in self.callbacks:
            if cb.get("type") == 8:
                return list((cb.get("data") or {}).get("choices") or [])
        return None

    @property
    def modal(self) -> JSON | None:
        """The data of the modal the bot answered with (callback type 9), if any."""
        for cb in self.callbacks:
            if cb.get("type") == 9:
                data: JSON = cb.get("data") or {}
                return data
        return None

    @property
    def messages(self) -> list[FakeMessage]:
        result = [self.original] if self.original is not None else []
        return result + [m for m in self.followups if m is not self.original]

    async def wait_acknowledged(self, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.acknowledged_at is not None:
                return
            if time.monotonic() > deadline:
                rejected = (
                    f"; rejected callbacks: {self.rejected_callbacks}"
                    if self.rejected_callbacks
                    else ""
                )
                raise AssertionError(
                    f"interaction {self.name!r} ({self.id}) not acknowledged "
                    f"within {timeout}s{rejected}"
                )
            await asyncio.sleep(0.005)

    def __repr__(self) -> str:
        return (
            f"<FakeInteraction id={self.id} type={self.type} name={self.name!r} "
            f"callbacks={[c.get('type') for c in self.callbacks]} followups={len(self.followups)}>"
        )


def user_payload(user_id: int, name: str, *, bot: bool = False) -> JSON:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": None if bot else name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    }


class FakeGuild:
    """A guild of the fake world. Its dicts are the payloads sent in GUILD_CREATE."""

    def __init__(self, fake: DiscordState, guild_id: int, *, name: str, owner_id: int) -> None:
        self._fake = fake
        self.id = guild_id
        self.name = name
        self.owner_id = owner_id
        self.joined_at = now_iso()
        #: the guild's "preferred_locale", also sent as an interaction's ``guild_locale``
        self.locale = "en-US"
        self.channels: dict[int, JSON] = {}
        self.roles: dict[int, JSON] = {}
        self.members: dict[int, JSON] = {}
        self.member_permissions: dict[int, int] = {}
        self.add_role(guild_id, name="@everyone", permissions=DEFAULT_MEMBER_PERMISSIONS)
        bot_role_id = fake.snowflakes.next()
        bot_role = self.add_role(bot_role_id, name=fake.bot_name, permissions=BOT_PERMISSIONS)
        bot_role["managed"] = True
        bot_role["tags"] = {"bot_id": str(fake.bot_user_id)}
        self.add_member(fake.bot_user_id, name=fake.bot_name, roles=[bot_role_id], bot=True)
        if owner_id != fake.bot_user_id:
            self.add_member(owner_id, name=fake.users.get(owner_id, {}).get("username", "owner"))

    def add_channel(
        self,
        channel_id: int,
        *,
        name: str = "general",
        nsfw: bool = False,
        type: int = 0,
        parent_id: int | None = None,
    ) -> JSON:
        """A guild channel (type 0 text, 2 voice, 15 forum, ...; resources/channel);
        ``parent_id`` is its category."""
        channel: JSON = {
            "id": str(channel_id),
            "type": type,
            "guild_id": str(self.id),
            "name": name,
            "position": len(self.channels),
            "permission_overwrites": [],
            "nsfw": nsfw,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None if parent_id is None else str(parent_id),
            "flags": 0,
        }
        if type in (2, 13):
            channel.update(bitrate=64000, user_limit=0, rtc_region=None)
        if type == _permissions.GUILD_FORUM:
            channel.update(available_tags=[], default_reaction_emoji=None, default_sort_order=None)
        self.channels[channel_id] = channel
        self._fake.channel_guild[channel_id] = self.id
        return channel

    def add_thread(
        self, thread_id: int, *, parent_id: int, name: str = "thread", type: int = 11
    ) -> JSON:
        """A thread of ``parent_id`` (types 10, 11, 12), or a post of a forum (type 11 in a
        type 15 channel). Discord docs, resources/channel: a thread's ``id`` is its own,
        ``parent_id`` names its channel; it has no permission overwrites of its own
        (topics/threads), and it is sent in GUILD_CREATE's ``threads``, not ``channels``."""
        if type not in _permissions.THREAD_TYPES:
            raise ValueError(f"thread type must be 10, 11 or 12, not {type}")
        if parent_id not in self.channels:
            raise ValueError(f"parent channel {parent_id} does not exist")
        thread: JSON = {
            "id": str(thread_id),
            "type": type,
            "guild_id": str(self.id),
            "parent_id": str(parent_id),
            "owner_id": str(self.owner_id),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_iso(),
                "locked": False,
            },
        }
        self.channels[thread_id] = thread
        self._fake.channel_guild[thread_id] = self.id
        return thread

    def set_overwrite(
        self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0, member: bool
    ) -> None:
        """Put a permission overwrite for a role (``member=False``) or a member on a channel
        (resources/channel, "Overwrite Object"; type 0 role, 1 member). Threads have none."""
        channel = self.channels[channel_id]
        if _permissions.is_thread(channel):
            raise ValueError("threads take their parent's overwrites; set them there")
        kept = [o for o in channel["permission_overwrites"] if o["id"] != str(target_id)]
        kept.append(
            {"id": str(target_id), "type": int(member), "allow": str(allow), "deny": str(deny)}
        )
        channel["permission_overwrites"] = kept
        self._fake.channel_changed(channel_id)

    def permissions_of(self, user_id: int, channel_id: int) -> int:
        channel = self.channels[channel_id]
        parent_id = channel.get("parent_id")
        parent = self.channels.get(int(parent_id)) if parent_id is not None else None
        member = self.members.get(user_id, {})
        return _permissions.compute(
            guild_id=self.id,
            roles={role_id: role for role_id, role in self.roles.items()},
            member_id=user_id,
            member_role_ids=[int(r) for r in member.get("roles", [])],
            channel=channel,
            parent=parent,
        )

    def add_role(self, role_id: int, *, name: str, permissions: int = 0) -> JSON:
        role: JSON = {
            "id": str(role_id),
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": len(self.roles),
            "permissions": str(permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        self.roles[role_id] = role
        return role

    def add_member(
        self,
        user_id: int,
        *,
        name: str,
        roles: list[int] | None = None,
        permissions: int | None = None,
        bot: bool = False,
        nick: str | None = None,
    ) -> JSON:
        """Add a member; ``permissions`` is what interactions report for them (default: the
        usual member permissions, everything for the guild owner)."""
        if user_id != self._fake.bot_user_id:
            self._fake.users[user_id] = user_payload(user_id, name, bot=bot)
        if permissions is None:
            permissions = (
                ALL_PERMISSIONS if user_id == self.owner_id else DEFAULT_MEMBER_PERMISSIONS
            )
        member: JSON = {
            "user": self._fake.users[user_id],
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in roles or []],
            "joined_at": now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        self.members[user_id] = member
        self.member_permissions[user_id] = permissions
        return member

    def member_payload(
        self, user_id: int, *, with_user: bool = True, permissions: bool = True
    ) -> JSON:
        if user_id not in self.members:
            self.add_member(user_id, name=f"user{user_id}")
        member = dict(self.members[user_id])
        if not with_user:
            member.pop("user", None)
        if permissions:
            member["permissions"] = str(self.member_permissions[user_id])
        return member

    def guild_payload(self, *, members: bool = True, intents: int = 0) -> JSON:
        member_ids = (
            list(self.members)
            if members and intents & INTENT_GUILD_MEMBERS
            else [self._fake.bot_user_id]
            if members
            else []
        )
        payload: JSON = {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [copy.deepcopy(r) for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }
        if members:
            payload.update(
                joined_at=self.joined_at,
                large=False,
                unavailable=False,
                member_count=len(self.members),
                voice_states=[],
                members=[self.member_payload(uid, permissions=False) for uid in member_ids],
                channels=[
                    self._fake.channel_payload(cid)
                    for cid, c in self.channels.items()
                    if not _permissions.is_thread(c)
                ],
                threads=[
                    self._fake.channel_payload(cid)
                    for cid, c in self.channels.items()
                    if _permissions.is_thread(c)
                ],
                presences=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
            )
        return payload

    def __repr__(self) -> str:
        return f"<FakeGuild id={self.id} name={self.name!r}>"


@dataclass
class Failure:
    method: str
    path_regex: str
    status: int
    json: JSON | None
    headers: dict[str, str] | None
    remaining: int
    after_handling: bool = False  # the request takes effect, then this answer replaces its own

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method.upper()) and (
            re.search(self.path_regex, path) is not None
        )


@dataclass
class Blob:
    data: bytes
    filename: str
    content_type: str | None


def guess_content_type(filename: str, sent: str | None = None) -> str | None:
    guessed = mimetypes.guess_type(filename)[0]
    if guessed:
        return guessed
    if sent and sent != "application/octet-stream":
        return sent
    return sent


def image_size(data: bytes, content_type: str | None) -> tuple[int, int] | None:
    if not content_type or not content_type.startswith("image/"):
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.width, img.height
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


class DiscordState:
    """Everything the fake knows. :class:`FakeDiscord` extends it with the servers."""

    def __init__(
        self,
        *,
        token: str,
        application_id: int,
        bot_user_id: int,
        bot_name: str,
        owner_id: int,
        interaction_token_lifetime: float,
    ) -> None:
        self.snowflakes = Snowflakes()
        self.token = token
        self.application_id = application_id
        self.bot_user_id = bot_user_id
        self.bot_name = bot_name
        self.owner_id = owner_id
        self.interaction_token_lifetime = interaction_token_lifetime

        self.base_url = ""  # "http://127.0.0.1:PORT", set when the server starts

        # knobs
        self.upload_limit: int = 10 * 1024 * 1024
        self.late_ack: bool = False
        #: callbacks arriving later than this after dispatch get 404 10062 (None: no limit)
        self.ack_deadline: float | None = 3.0
        #: reject message payloads Discord would reject (lengths, counts, empty messages)
        self.validate: bool = True
        #: send MESSAGE_CREATE/UPDATE/DELETE for the bot's own messages (as Discord does)
        self.message_events: bool = True
        #: how long a nonce sent with ``enforce_nonce`` stays unique ("the past few minutes",
        #: Discord docs resources/message, Create Message)
        self.nonce_window: float = 300.0
        #: seconds a signed attachment URL stays valid (Discord: about 24 h)
        self.attachment_url_lifetime: float = 24 * 3600.0
        #: added to the wall clock for signing and checking attachment URLs (age them in tests)
        self.clock_offset: float = 0.0
        self._cdn_key = secrets.token_bytes(32)
        #: Discord's per-route and global rate limits (headers, 429s); see ``_ratelimit``
        self.rate_limits = RateLimits()

        # world
        self.users: dict[int, JSON] = {bot_user_id: user_payload(bot_user_id, bot_name, bot=True)}
        self.users[bot_user_id].update(verified=True, mfa_enabled=False)
        self.guilds: dict[int, FakeGuild] = {}
        self.channel_guild: dict[int, int] = {}
        self.dm_channels: dict[int, JSON] = {}
        #: members who closed their DMs to the bot: opening a DM channel with them works,
        #: posting in it is refused with 403 code 50007 (see ``require_dm_open``)
        self.closed_dms: set[int] = set()
        self.denied_channels: dict[int, int] = {}

        # commands
        self.commands: dict[str, JSON] = {}
        self.synced_global_commands: list[JSON] = []
        self.synced_guild_commands: dict[int, list[JSON]] = {}
        self.registered_global_commands: list[JSON] = []
        self.registered_guild_commands: dict[int, list[JSON]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}

        # records
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.interactions_by_token: dict[str, FakeInteraction] = {}
        self.requests: list[RecordedRequest] = []
        self.failures: list[Failure] = []
        self.holds: list[Hold] = []  # see `hold_next`
        #: (author id, nonce) -> (message id, time.monotonic()) for ``enforce_nonce`` posts
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        #: exceptions raised inside the fake's own handlers (answered 400, never 500)
        self.internal_errors: list[BaseException] = []
        self.blobs: dict[int, Blob] = {}
        #: CDN requests refused: (path, "unsigned" | "tampered" | "expired")
        self.refused_cdn: list[tuple[str, str]] = []
        self.resolved_attachments: dict[str, JSON] = {}
        self._token_counter = itertools.count(1)

    # ---------------------------------------------------------------- world building

    def add_guild(
        self, guild_id: int, *, name: str = "Test Server", owner_id: int | None = None
    ) -> FakeGuild:
        guild = FakeGuild(
            self, guild_id, name=name, owner_id=self.owner_id if owner_id is None else owner_id
        )
        self.guilds[guild_id] = guild
        return guild

    def deny_channel(self, channel_id: int, *, code: int = 50013) -> None:
        """Channel routes (message POST/PATCH, typing) for this channel now answer 403 ``code``;
        ``app_permissions`` and the channel's overwrites lose Send Messages/Attach/Embed."""
        self.denied_channels[channel_id] = code
        self._sync_overwrites(channel_id)

    def allow_channel(self, channel_id: int) -> None:
        self.denied_channels.pop(channel_id, None)
        self._sync_overwrites(channel_id)

    def _sync_overwrites(self, channel_id: int) -> None:
        guild_id = self.channel_guild.get(channel_id)
        if guild_id is None or self.is_thread(channel_id):
            return
        channel = self.guilds[guild_id].channels[channel_id]
        overwrites = [
            o for o in channel["permission_overwrites"] if o["id"] != str(self.bot_user_id)
        ]
        if channel_id in self.denied_channels:
            overwrites.append(
                {
                    "id": str(self.bot_user_id),
                    "type": 1,
                    "allow": "0",
                    "deny": str(DENIED_CHANNEL_PERMISSIONS),
                }
            )
        channel["permission_overwrites"] = overwrites

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int,
        json: JSON | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        after_handling: bool = False,
    ) -> None:
        """The next ``times`` requests whose method matches (``"*"`` for any) and whose path
        (relative to the API base, e.g. ``/channels/1/messages``) matches ``re.search(path_regex)``
        get this answer. For 429 the body defaults to ``retry_after`` 0.1 and the headers to a
        ``Via`` header (so discord.py retries); pass ``headers={}`` to leave ``Via`` out.
        With ``after_handling`` the request is carried out first and only its answer is lost
        (a 5xx from a proxy after Discord created the message)."""
        if json is None:
            if status == 429:
                json = {
                    "message": "You are being rate limited.",
                    "retry_after": 0.1,
                    "global": False,
                }
            else:
                json = {"message": f"{status}: injected failure", "code": 0}
        if headers is None and status == 429:
            headers = {"Via": "1.1 google", "X-RateLimit-Scope": "user"}
        self.failures.append(
            Failure(method, path_regex, status, json, headers, times, after_handling)
        )

    def hold_next(
        self,
        method: str,
        path_regex: str,
        *,
        when: Callable[[Any], bool] | None = None,
        times: int = 1,
        after: bool = False,
    ) -> Hold:
        """The next ``times`` matching requests (``when`` tests the JSON body) get no answer
        until ``release()``, and are then dropped: unapplied, or with ``after`` applied and
        only the answer lost. ``await hold.wait_arrived()``."""
        hold = Hold(method, path_regex, when, times, after=after)
        self.holds.append(hold)
        return hold

    def expire_interaction_tokens(self) -> None:
        """Every interaction token issued so far now answers 401 code 50027."""
        for interaction in self.interactions.values():
            interaction.expired = True

    def token_expired(self, interaction: FakeInteraction) -> bool:
        age = time.monotonic() - interaction.created_at
        return interaction.expired or age > self.interaction_token_lifetime

    def new_interaction_token(self) -> str:
        return f"fake-interaction-token-{next(self._token_counter)}-{self.snowflakes.next():x}"

    # ---------------------------------------------------------------- lookups & payloads

    @property
    def bot_user(self) -> JSON:
        return self.users[self.bot_user_id]

    def user_payload(self, user_id: int) -> JSON:
        if user_id not in self.users:
            self.users[user_id] = user_payload(user_id, f"user{user_id}")
        return dict(self.users[user_id])

    def channel_payload(self, channel_id: int) -> JSON:
        if channel_id in self.dm_channels:
            return copy.deepcopy(self.dm_channels[channel_id])
        guild_id = self.channel_guild.get(channel_id)
        if guild_id is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return copy.deepcopy(self.guilds[guild_id].channels[channel_id])

    def channel_exists(self, channel_id: int) -> bool:
        return channel_id in self.dm_channels or channel_id in self.channel_guild

    def guild_of_channel(self, channel_id: int) -> int | None:
        return self.channel_guild.get(channel_id)

    def dm_channel_for(self, user_id: int, channel_id: int | None = None) -> JSON:
        for existing in self.dm_channels.values():
            if existing["recipients"][0]["id"] == str(user_id):
                return existing
        channel_id = channel_id or self.snowflakes.next()
        channel: JSON = {
            "id": str(channel_id),
            "type": 1,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self.user_payload(user_id)],
        }
        self.dm_channels[channel_id] = channel
        return channel

    def channel_changed(self, channel_id: int) -> None:
        """A channel's payload changed (FakeDiscord sends CHANNEL_UPDATE)."""

    def app_permissions(self, channel_id: int) -> int:
        """The bot's permissions in a channel, as Discord computes them from its roles and
        the channel's (for a thread: the parent's) overwrites."""
        guild_id = self.channel_guild.get(channel_id)
        if guild_id is None:
            return BOT_PERMISSIONS
        permissions = self.guilds[guild_id].permissions_of(self.bot_user_id, channel_id)
        if channel_id in self.denied_channels:
            permissions &= ~DENIED_CHANNEL_PERMISSIONS
        return permissions

    def is_thread(self, channel_id: int) -> bool:
        guild_id = self.channel_guild.get(channel_id)
        if guild_id is None:
            return False
        return _permissions.is_thread(self.guilds[guild_id].channels[channel_id])

    def require_dm_open(self, channel_id: int) -> None:
        """A post in a DM channel whose member does not accept DMs from the bot (server
        privacy setting "Direct Messages", or the bot blocked) is refused with 403 and JSON code
        50007 "Cannot send messages to this user" (topics/opcodes-and-status-codes); creating
        the DM channel itself succeeds (resources/user, "Create DM")."""
        channel = self.dm_channels.get(channel_id)
        if channel is None:
            return
        if int(channel["recipients"][0]["id"]) in self.closed_dms:
            raise ApiError(403, 50007, _ERROR_MESSAGES[50007])

    def require_post(self, channel_id: int, *, files: bool) -> None:
        """403 unless the bot may create a message here (DM channels: always)."""
        if channel_id not in self.channel_guild:
            return
        lacking = _permissions.missing_to_post(
            self.app_permissions(channel_id), thread=self.is_thread(channel_id), files=files
        )
        if lacking == "view":
            raise ApiError(403, 50001, "Missing Access")
        if lacking is not None:
            raise ApiError(403, 50013, "Missing Permissions")

    def can_read_history(self, channel_id: int) -> bool:
        """resources/message: reading messages needs VIEW_CHANNEL and READ_MESSAGE_HISTORY."""
        if channel_id not in self.channel_guild:
            return True
        permissions = self.app_permissions(channel_id)
        needed = _permissions.VIEW_CHANNEL | _permissions.READ_MESSAGE_HISTORY
        return permissions & needed == needed

    # ---------------------------------------------------------------- signed CDN URLs

    def now(self) -> float:
        return time.time() + self.clock_offset

    def _signature(self, path: str, ex: str, issued: str) -> str:
        message = f"{path}|{ex}|{issued}".encode()
        return hmac.new(self._cdn_key, message, hashlib.sha256).hexdigest()

    def sign_url(self, url: str) -> str:
        """Discord docs, reference ("Signed Attachment CDN URLs"): ``ex`` is the expiry and
        ``is`` the issue time, both hex Unix seconds, and ``hm`` a signature over them."""
        base = url.split("?", 1)[0]
        path = "/" + base.split("/", 3)[3]
        issued = int(self.now())
        ex, is_ = f"{issued + int(self.attachment_url_lifetime):x}", f"{issued:x}"
        return f"{base}?ex={ex}&is={is_}&hm={self._signature(path, ex, is_)}&"

    def url_problem(self, path: str, query: dict[str, str]) -> str | None:
        """Why the CDN refuses this attachment URL (None: it is valid)."""
        ex, is_, hm = query.get("ex"), query.get("is"), query.get("hm")
        if not ex or not is_ or not hm:
            return "unsigned"
        if not hmac.compare_digest(hm, self._signature(path, ex, is_)):
            return "tampered"
        try:
            expires = int(ex, 16)
        except ValueError:
            return "tampered"
        if expires <= self.now():
            return "expired"
        return None

    def signed_attachments(self, attachments: list[JSON]) -> list[JSON]:
        """Every message fetch hands out freshly signed URLs, as Discord does."""
        signed = copy.deepcopy(attachments)
        for attachment in signed:
            for key in ("url", "proxy_url"):
                if key in attachment:
                    attachment[key] = self.sign_url(str(attachment[key]))
        return signed

    def channel_denied(self, channel_id: int) -> None:
        code = self.denied_channels.get(channel_id)
        if code is not None:
            raise ApiError(403, code, _ERROR_MESSAGES.get(code, "Missing Permissions"))

    def embedded_media(self, message: FakeMessage) -> tuple[list[JSON], list[JSON]]:
        """The message's attachments and embeds as Discord serves them.

        reference ("Uploading Files", "Using Attachments within Embeds"): an embed's image or
        thumbnail may be ``attachment://filename``, naming a file of the same message. Discord
        serves it as the attachment's CDN URL, signed afresh like every attachment URL
        (reference, "Signed Attachment CDN URLs"), and an attachment shown inside an embed is
        no longer listed in ``attachments`` (discord/discord-api-docs#6539 shows both payloads).
        A reference to a file the message does not carry shows nothing."""
        by_name = {str(a.get("filename")): a for a in message.attachments}
        embedded: set[str] = set()
        embeds: list[JSON] = []
        for original in copy.deepcopy(message.embeds):
            embed: JSON = {"type": "rich", **original}
            for key in ("image", "thumbnail"):
                media = embed.get(key)
                url = str(media.get("url", "")) if isinstance(media, dict) else ""
                if not url.startswith(ATTACHMENT_SCHEME):
                    continue
                attachment = by_name.get(url.removeprefix(ATTACHMENT_SCHEME))
                if attachment is None:
                    del embed[key]
                    continue
                embedded.add(str(attachment["id"]))
                signed = self.sign_url(str(attachment["url"]))
                resolved: JSON = {"url": signed, "proxy_url": signed}
                for side in ("width", "height"):
                    if side in attachment:
                        resolved[side] = attachment[side]
                embed[key] = resolved
            embeds.append(embed)
        shown = [a for a in message.attachments if str(a["id"]) not in embedded]
        return self.signed_attachments(shown), embeds

    def message_payload(self, message: FakeMessage) -> JSON:
        attachments, embeds = self.embedded_media(message)
        payload: JSON = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": self.user_payload(message.author_id),
            "content": message.content or "",
            "timestamp": message.timestamp,
            "edited_timestamp": message.edited_timestamp,
            "tts": message.tts,
            "mention_everyone": message.mention_everyone,
            "mentions": [self.user_payload(uid) for uid in message.mentioned_user_ids],
            "mention_roles": [str(rid) for rid in message.mentioned_role_ids],
            "mention_channels": [],
            "attachments": attachments,
            "embeds": embeds,
            "reactions": [],
            "pinned": False,
            "type": message.type,
            "flags": message.flags,
            "components": copy.deepcopy(message.components),
        }
        if message.guild_id is not None:
            payload["guild_id"] = str(message.guild_id)
        if message.webhook_id is not None:
            payload["webhook_id"] = str(message.webhook_id)
            payload["application_id"] = str(self.application_id)
        if message.message_reference is not None:
            payload["message_reference"] = dict(message.message_reference)
        if message.payload.get("nonce") is not None:
            payload["nonce"] = message.payload["nonce"]
        if message.interaction_id is not None:
            interaction = self.interactions.get(message.interaction_id)
            if interaction is not None:
                metadata: JSON = {
                    "id": str(interaction.id),
                    "type": interaction.type,
                    "user": self.user_payload(interaction.user_id),
                    "authorizing_integration_owners": interaction.payload.get(
                        "authorizing_integration_owners", {}
                    ),
                }
                if interaction.original is not None and interaction.original is not message:
                    metadata["original_response_message_id"] = str(interaction.original.id)
                if interaction.message_id is not None:
                    metadata["interacted_message_id"] = str(interaction.message_id)
                payload["interaction_metadata"] = metadata
        return payload

    # ---------------------------------------------------------------- queries

    def channel_messages(
        self, channel_id: int, *, include_deleted: bool = False, include_ephemeral: bool = True
    ) -> list[FakeMessage]:
        """Messages in a channel, oldest first (deleted ones only when asked)."""
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id
            and (include_deleted or not m.deleted)
            and (include_ephemeral or not m.ephemeral)
        ]

    def command_id(self, name: str, guild_id: int | None = None, type: int = 1) -> int | None:
        key = (guild_id, name, type)
        return self._command_ids.get(key)

    def visible_commands(self, guild_id: int) -> list[str]:
        """The command names a member of this server is offered: the global registry and the
        server's own, side by side (a name in both shows twice in Discord's picker)."""
        server = self.registered_guild_commands.get(guild_id, [])
        return sorted(c["name"] for c in [*self.registered_global_commands, *server])

    def register_commands(self, guild_id: int | None, commands: list[JSON]) -> list[JSON]:
        """Store a bulk overwrite; answer like Discord (ids stable across re-syncs)."""
        registered: list[JSON] = []
        for command in commands:
            ctype = int(command.get("type", 1))
            key = (guild_id, str(command["name"]), ctype)
            command_id = self._command_ids.get(key) or self.snowflakes.next()
            self._command_ids[key] = command_id
            stored = copy.deepcopy(command)
            stored.setdefault("type", 1)
            stored.setdefault("description", "")
            stored.setdefault("options", [])
            stored.setdefault("default_member_permissions", None)
            stored.setdefault("nsfw", False)
            stored.update(
                id=str(command_id),
                application_id=str(self.application_id),
                version=str(self.snowflakes.next()),
            )
            if guild_id is not None:
                stored["guild_id"] = str(guild_id)
            registered.append(stored)
            self.commands[str(command["name"])] = copy.deepcopy(command)
        if guild_id is None:
            self.synced_global_commands = copy.deepcopy(commands)
            self.registered_global_commands = registered
        else:
            self.synced_guild_commands[guild_id] = copy.deepcopy(commands)
            self.registered_guild_commands[guild_id] = registered
        return copy.deepcopy(registered)

    def describe_requests(self, last: int = 15) -> str:
        lines = [f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-last:]]
        text = "\n".join(lines) if lines else "  (none)"
        if self.internal_errors:
            text += f"\nfake discord internal errors: {self.internal_errors!r}"
        return text
