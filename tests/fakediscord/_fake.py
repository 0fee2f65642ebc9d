"""FakeDiscord: the loopback server (REST + gateway) and the test-facing API."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
import time
from collections.abc import Callable, Iterator
from typing import Self
from urllib.parse import quote

import discord.gateway
import discord.http
import yarl
from aiohttp import web

from ._gateway import (
    GUILDS_PER_SHARD,
    IDENTIFY_WINDOW,
    OP_INVALID_SESSION,
    OP_RECONNECT,
    Gateway,
    GatewayConnection,
    shard_for,
)
from ._rest import RestApi
from ._state import (
    API_PREFIX,
    JSON,
    Blob,
    DiscordState,
    FakeInteraction,
    FakeMessage,
    RecordedRequest,
)

DEFAULT_APPLICATION_ID = 1_200_000_000_000_000_001
DEFAULT_BOT_USER_ID = 1_200_000_000_000_000_002
# Connections waiting to be accepted before the kernel drops new ones. aiohttp's TCPSite
# allows 128 (aiohttp docs, web_reference: TCPSite's backlog). discord.py opens a connection
# per concurrent request (its connector has no limit: `TCPConnector(limit=0)`, discord/http.py),
# so a burst of 1,000 deferrals opens hundreds at once; Discord's API edge accepts them, while
# a full queue here drops their SYNs, which the client sends again only after the initial
# retransmission timeout of 1 s (RFC 6298, 2.1): a second late, for a reason Discord never
# gives. The kernel caps the figure at net.core.somaxconn.
ACCEPT_BACKLOG = 4096
DEFAULT_OWNER_ID = 1_200_000_000_000_000_100

_COMPONENT_TYPES_WITH_VALUES = (3, 5, 6, 7, 8)


class FakeDiscord(DiscordState):
    """A loopback Discord for the real discord.py client.

    Build the world (``add_guild`` ...), ``await start()``, point discord.py at it
    (``patch_discord()`` in-process, or ``api_base``/``gateway_url`` for a subprocess),
    then drive it (``invoke``, ``click``, ``submit_modal``) and inspect the records
    (``messages``, ``requests``, the returned :class:`FakeInteraction`).
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",  # noqa: S107
        application_id: int = DEFAULT_APPLICATION_ID,
        bot_user_id: int = DEFAULT_BOT_USER_ID,
        interaction_token_lifetime: float = 900.0,
        bot_name: str = "Reelbot",
        owner_id: int = DEFAULT_OWNER_ID,
        shard_count: int = 1,
        max_concurrency: int = 1,
        identify_window: float = IDENTIFY_WINDOW,
        guilds_per_shard: int = GUILDS_PER_SHARD,
    ) -> None:
        super().__init__(
            token=token,
            application_id=application_id,
            bot_user_id=bot_user_id,
            bot_name=bot_name,
            owner_id=owner_id,
            interaction_token_lifetime=interaction_token_lifetime,
        )
        self.gateway = Gateway(
            self,
            shard_count=shard_count,
            max_concurrency=max_concurrency,
            identify_window=identify_window,
            guilds_per_shard=guilds_per_shard,
        )
        self.rest = RestApi(self, self.gateway)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._pending: set[asyncio.Task[bool]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeDiscord already started")
        app = web.Application(client_max_size=1024**3)
        self.rest.setup(app)
        app.router.add_get("/gateway", self.gateway.handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=ACCEPT_BACKLOG)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.gateway.url = f"ws://127.0.0.1:{self.port}/gateway"

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for hold in self.holds:
            hold.release()
        await self._flush()
        await self.gateway.close_all()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        self._require_started()
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``."""
        self._require_started()
        return self.gateway.url

    def _require_started(self) -> None:
        if self._runner is None:
            raise RuntimeError("FakeDiscord is not started")

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py (this process) at the fake; restores the real URLs on exit."""
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ------------------------------------------------------------------ gateway control

    def deny_channel(self, channel_id: int, *, code: int = 50013) -> None:
        """Channel routes (message POST/PATCH, typing) for this channel now answer 403 ``code``
        (``{"code": 50013, "message": "Missing Permissions"}``); the bot's ``app_permissions``
        and permission overwrites lose Send Messages/Attach Files/Embed Links there (sent as
        CHANNEL_UPDATE when connected). Interaction responses and follow-ups still work."""
        super().deny_channel(channel_id, code=code)
        self._channel_update(channel_id)

    def allow_channel(self, channel_id: int) -> None:
        super().allow_channel(channel_id)
        self._channel_update(channel_id)

    def channel_changed(self, channel_id: int) -> None:
        self._channel_update(channel_id)

    def _channel_update(self, channel_id: int) -> None:
        guild_id = self.channel_guild.get(channel_id)
        if guild_id is None or self.gateway.route(guild_id) is None:
            return
        payload = self.channel_payload(channel_id)
        task = asyncio.get_running_loop().create_task(
            self.gateway.dispatch("CHANNEL_UPDATE", payload)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _flush(self) -> None:
        """Let queued gateway notifications go out before what comes next."""
        if self._pending:
            await asyncio.gather(*self._pending)

    async def send_guild_create(self, guild_id: int) -> bool:
        """Announce a guild added after the bot connected (as when the bot joins a server)."""
        guild = self.guilds[guild_id]
        conn = self.gateway.route(guild_id)
        if conn is None or conn.session is None:
            return False
        payload = guild.guild_payload(intents=conn.session.intents)
        return await self.gateway.dispatch("GUILD_CREATE", payload, guild_id=guild_id)

    @property
    def resumes(self) -> int:
        return self.gateway.resumes

    @property
    def identifies(self) -> int:
        return self.gateway.identifies

    @property
    def connected(self) -> bool:
        """A live, identified or resumed gateway session exists (on any shard)."""
        return self.gateway.connected

    @property
    def shard_count(self) -> int:
        """The shard count GET /gateway/bot recommends (``shards``)."""
        return self.gateway.shard_count

    @shard_count.setter
    def shard_count(self, value: int) -> None:
        self.gateway.shard_count = value

    def shard_of(self, guild_id: int | None, num_shards: int | None = None) -> int:
        """The shard that receives ``guild_id``'s events (``(guild_id >> 22) % num_shards``,
        DMs on shard 0), ``num_shards`` defaulting to :attr:`shard_count`."""
        return shard_for(guild_id, num_shards or self.gateway.shard_count)

    async def wait_until_connected(
        self, timeout: float = 10.0, *, guild_id: int | None = None
    ) -> None:
        """Wait for a live session on the shard of ``guild_id`` (None: shard 0)."""
        await self.gateway.wait_connected(timeout, guild_id=guild_id)

    async def drop_gateway(self, *, code: int | None = 4000, shard_id: int = 0) -> None:
        """Close a shard's websocket (``code=None``: abort the TCP connection). discord.py
        reconnects to ``resume_gateway_url`` and RESUMEs (counted in ``resumes``)."""
        await self.gateway.drop(code, shard_id=shard_id)

    async def request_reconnect(self, *, shard_id: int = 0) -> None:
        """Send op 7 RECONNECT: the client closes and RESUMEs."""
        await self.gateway.send_op(OP_RECONNECT, None, shard_id=shard_id)

    async def invalidate_session(self, *, resumable: bool = False, shard_id: int = 0) -> None:
        """Send op 9 INVALID_SESSION: the client re-IDENTIFYs (or RESUMEs when resumable)."""
        await self.gateway.send_op(OP_INVALID_SESSION, resumable, shard_id=shard_id)

    async def dispatch(self, event: str, data: JSON) -> bool:
        """Send any gateway dispatch to the bot, on the shard of the payload's ``guild_id``
        (False when that shard is not connected)."""
        return await self.gateway.dispatch(event, data)

    # ------------------------------------------------------------------ attachments

    def add_attachment(
        self,
        data: bytes,
        *,
        filename: str,
        content_type: str | None,
        width: int | None = None,
        height: int | None = None,
        ephemeral: bool = True,
    ) -> JSON:
        """Serve ``data`` and return the attachment object to put in ``invoke(attachments=...)``
        (or as the value of a type 11 option)."""
        attachment_id = self.snowflakes.next()
        self.blobs[attachment_id] = Blob(data, filename, content_type)
        folder = f"ephemeral-attachments/{self.application_id}" if ephemeral else "attachments/0"
        url = self.sign_url(f"{self.base_url}/{folder}/{attachment_id}/{quote(filename)}")
        attachment: JSON = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
        }
        if content_type is not None:
            attachment["content_type"] = content_type
        if width is not None:
            attachment["width"] = width
        if height is not None:
            attachment["height"] = height
        if ephemeral:
            attachment["ephemeral"] = True
        self.resolved_attachments[attachment["id"]] = attachment
        return copy.deepcopy(attachment)

    # ------------------------------------------------------------------ driving

    def _interaction_base(
        self,
        *,
        interaction_type: int,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        locale: str,
    ) -> JSON:
        interaction_id = self.snowflakes.next()
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "token": self.new_interaction_token(),
            "version": 1,
            "locale": locale,
            "app_permissions": str(self.app_permissions(channel_id)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": self.upload_limit,
        }
        if guild_id is not None:
            guild = self.guilds.get(guild_id)
            if guild is None:
                raise AssertionError(f"unknown guild {guild_id}; add it with add_guild() first")
            if channel_id not in guild.channels:
                raise AssertionError(
                    f"channel {channel_id} is not in guild {guild_id}; add it with add_channel()"
                )
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                channel_id=str(channel_id),
                channel=self.channel_payload(channel_id),
                member=guild.member_payload(user_id),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
        else:
            channel = self.dm_channel_for(user_id, channel_id)
            payload.update(
                channel_id=channel["id"],
                channel=copy.deepcopy(channel),
                user=self.user_payload(user_id),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        return payload

    async def _dispatch_interaction(
        self,
        payload: JSON,
        *,
        name: str,
        message_id: int | None = None,
        timeout: float = 10.0,
        via: GatewayConnection | None = None,
    ) -> FakeInteraction:
        guild_id = payload.get("guild_id")
        # Discord docs topics/gateway "Sharding": the interaction goes to its guild's shard.
        await self.gateway.wait_connected(
            timeout, guild_id=None if guild_id is None else int(guild_id)
        )
        await self._flush()
        user: JSON = payload["member"]["user"] if "member" in payload else payload["user"]
        interaction = FakeInteraction(
            id=int(payload["id"]),
            token=str(payload["token"]),
            type=int(payload["type"]),
            name=name,
            guild_id=None if guild_id is None else int(guild_id),
            channel_id=int(payload["channel_id"]),
            user_id=int(user["id"]),
            payload=payload,
            message_id=message_id,
        )
        self.interactions[interaction.id] = interaction
        self.interactions_by_token[interaction.token] = interaction
        interaction.created_at = time.monotonic()
        if not await self.gateway.dispatch("INTERACTION_CREATE", payload, via=via):
            raise AssertionError(
                "INTERACTION_CREATE could not be sent: the gateway connection went away"
            )
        return interaction

    async def redeliver(self, interaction: FakeInteraction) -> None:
        """Test hook: send the same INTERACTION_CREATE (same id, same token) again, as a gateway
        replay or a second process could receive it. Callbacks stay counted on the one
        interaction, so the second response Discord would refuse gets 40060 here too."""
        if not await self.gateway.dispatch("INTERACTION_CREATE", interaction.payload):
            raise AssertionError(
                "INTERACTION_CREATE could not be sent: the gateway connection went away"
            )

    def _resolve_options(self, options: list[JSON], resolved: JSON, guild_id: int | None) -> None:
        guild = None if guild_id is None else self.guilds.get(guild_id)
        for option in options:
            if option.get("options"):
                self._resolve_options(option["options"], resolved, guild_id)
            if "value" not in option:
                continue
            option_type = option.get("type")
            value = option["value"]
            if option_type == 11:
                attachment = (
                    value if isinstance(value, dict) else self.resolved_attachments.get(str(value))
                )
                if attachment is not None:
                    option["value"] = str(attachment["id"])
                    resolved.setdefault("attachments", {})[str(attachment["id"])] = attachment
            elif option_type in (6, 9) and (
                int(value) in self.users or (guild is not None and int(value) in guild.members)
            ):
                option["value"] = str(value)
                resolved.setdefault("users", {})[str(value)] = self.user_payload(int(value))
                if guild is not None and int(value) in guild.members:
                    member = guild.member_payload(int(value), with_user=False)
                    resolved.setdefault("members", {})[str(value)] = member
            elif option_type in (8, 9) and guild is not None and int(value) in guild.roles:
                option["value"] = str(value)
                resolved.setdefault("roles", {})[str(value)] = copy.deepcopy(
                    guild.roles[int(value)]
                )
            elif option_type == 7 and self.channel_exists(int(value)):
                option["value"] = str(value)
                channel = self.channel_payload(int(value))
                channel["permissions"] = str(self.app_permissions(int(value)))
                channel.setdefault("name", "")
                resolved.setdefault("channels", {})[str(value)] = channel

    async def invoke(
        self,
        name: str,
        options: list[JSON] | None = None,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        subcommand: list[str] | None = None,
        attachments: list[JSON] | tuple[JSON, ...] = (),
        command_guild: bool = True,
        command_type: int = 1,
        locale: str = "en-US",
        timeout: float = 10.0,
        via: GatewayConnection | None = None,
    ) -> FakeInteraction:
        """Dispatch an application command (INTERACTION_CREATE type 2) as ``user_id`` would.

        ``options`` are Discord's option objects (``{"name", "type", "value"}``); for type 11
        the value may be an attachment dict from :meth:`add_attachment` (or its id); users,
        members, roles and channels known to the fake are put in ``data.resolved``.
        ``subcommand`` (``["sub"]`` or ``["group", "sub"]``) wraps the options. The command
        id comes from the synced commands (the guild's first when ``command_guild``, then
        the global ones); an unsynced command gets a made-up id. ``guild_id=None`` invokes
        it in a DM. Waits (up to ``timeout``) for a live gateway session first. ``via`` (one
        of ``gateway.holding(guild_id)``) picks the session when two hold the shard."""
        data = self._command_data(
            name,
            options,
            guild_id=guild_id,
            subcommand=subcommand,
            attachments=attachments,
            command_guild=command_guild,
            command_type=command_type,
            resolve=True,
        )
        payload = self._interaction_base(
            interaction_type=2,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            locale=locale,
        )
        payload["data"] = data
        return await self._dispatch_interaction(payload, name=name, timeout=timeout, via=via)

    def member_post(
        self,
        channel_id: int,
        *,
        user_id: int,
        content: str = "",
        attachments: list[JSON] | tuple[JSON, ...] = (),
        embeds: list[JSON] | tuple[JSON, ...] = (),
    ) -> FakeMessage:
        """A message a member (not the bot) posted in ``channel_id``: attachments from
        :meth:`add_attachment` (with ``ephemeral=False``), embeds as Discord's embed objects
        (an image link unfurls as ``{"type": "image", "url", "thumbnail": {...}}``)."""
        if not self.channel_exists(channel_id):
            raise AssertionError(f"unknown channel {channel_id}")
        message = FakeMessage(
            id=self.snowflakes.next(),
            channel_id=channel_id,
            guild_id=self.guild_of_channel(channel_id),
            author_id=user_id,
            via="channel",
            content=content,
            attachments=copy.deepcopy(list(attachments)),
            embeds=copy.deepcopy(list(embeds)),
        )
        self.messages[message.id] = message
        return message

    async def invoke_message_command(
        self,
        name: str,
        message: FakeMessage,
        *,
        user_id: int,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> FakeInteraction:
        """Use a message context-menu command (application command type 3, "Apps" on a
        message) as ``user_id`` would. Discord sends INTERACTION_CREATE type 2 whose ``data``
        has ``type`` 3, ``target_id`` (the message's id) and the message itself in
        ``data.resolved.messages`` (interactions/receiving-and-responding, "Application Command
        Data Structure" and "Resolved Data Structure"); such commands have no options."""
        if message.deleted:
            raise AssertionError(f"message {message.id} was deleted")
        data = self._command_data(
            name,
            None,
            guild_id=message.guild_id,
            subcommand=None,
            attachments=(),
            command_guild=True,
            command_type=3,
            resolve=False,
        )
        del data["options"]
        data["target_id"] = str(message.id)
        data["resolved"] = {"messages": {str(message.id): self.message_payload(message)}}
        payload = self._interaction_base(
            interaction_type=2,
            guild_id=message.guild_id,
            channel_id=message.channel_id,
            user_id=user_id,
            locale=locale,
        )
        payload["data"] = data
        return await self._dispatch_interaction(payload, name=name, timeout=timeout)

    async def autocomplete(
        self,
        name: str,
        options: list[JSON],
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        subcommand: list[str] | None = None,
        command_guild: bool = True,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> FakeInteraction:
        """Dispatch an autocomplete request (INTERACTION_CREATE type 4); mark the option being
        typed with ``"focused": True``. The bot's answer is in ``interaction.choices``."""
        data = self._command_data(
            name,
            options,
            guild_id=guild_id,
            subcommand=subcommand,
            attachments=(),
            command_guild=command_guild,
            command_type=1,
            resolve=False,
        )
        payload = self._interaction_base(
            interaction_type=4,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            locale=locale,
        )
        payload["data"] = data
        return await self._dispatch_interaction(payload, name=name, timeout=timeout)

    def _command_data(
        self,
        name: str,
        options: list[JSON] | None,
        *,
        guild_id: int | None,
        subcommand: list[str] | None,
        attachments: list[JSON] | tuple[JSON, ...],
        command_guild: bool,
        command_type: int,
        resolve: bool,
    ) -> JSON:
        command_id: int | None = None
        command_guild_id: int | None = None
        if command_guild and guild_id is not None:
            command_id = self.command_id(name, guild_id, command_type)
            command_guild_id = None if command_id is None else guild_id
        if command_id is None:
            command_id = self.command_id(name, None, command_type)
        if command_id is None:  # never synced: make one up (as a guild command when asked)
            command_id = self.snowflakes.next()
            command_guild_id = guild_id if command_guild else None
        opts = copy.deepcopy(options or [])
        if subcommand:
            for depth, sub in enumerate(reversed(subcommand)):
                opts = [{"name": sub, "type": 1 if depth == 0 else 2, "options": opts}]
        resolved: JSON = {}
        for attachment in attachments:
            resolved.setdefault("attachments", {})[str(attachment["id"])] = copy.deepcopy(
                attachment
            )
        if resolve:
            self._resolve_options(opts, resolved, guild_id)
        data: JSON = {"id": str(command_id), "name": name, "type": command_type, "options": opts}
        if resolved:
            data["resolved"] = resolved
        if command_guild_id is not None:
            data["guild_id"] = str(command_guild_id)
        return data

    async def click(
        self,
        message: FakeMessage,
        custom_id: str,
        *,
        user_id: int,
        guild_id: int | None = None,
        values: list[str] | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> FakeInteraction:
        """Press a button (or choose ``values`` in a select menu) on a message the bot sent
        (INTERACTION_CREATE type 3 with the message attached)."""
        component = message.component(custom_id)
        if component is None:
            raise AssertionError(
                f"{custom_id!r} is not on message {message.id}; it has {message.custom_ids()}"
            )
        if message.deleted:
            raise AssertionError(f"message {message.id} was deleted")
        component_type = int(component.get("type", 2))
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if component_type in _COMPONENT_TYPES_WITH_VALUES:
            data["values"] = list(values or [])
        elif values is not None:
            raise AssertionError(
                f"{custom_id!r} is a component of type {component_type}, not a select menu"
            )
        if guild_id is None:
            guild_id = message.guild_id
        payload = self._interaction_base(
            interaction_type=3,
            guild_id=guild_id,
            channel_id=message.channel_id,
            user_id=user_id,
            locale=locale,
        )
        payload["data"] = data
        payload["message"] = self.message_payload(message)
        return await self._dispatch_interaction(
            payload, name=custom_id, message_id=message.id, timeout=timeout
        )

    async def submit_modal(
        self,
        interaction: FakeInteraction,
        values: dict[str, str | list[str]],
        *,
        user_id: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> FakeInteraction:
        """Submit the modal the bot opened in answer to ``interaction`` (callback type 9),
        with text input values (select values as lists) by custom_id."""
        modal = interaction.modal
        if modal is None:
            raise AssertionError(f"the bot answered {interaction!r} without a modal")

        def fill(component: JSON) -> JSON | None:
            ctype = component.get("type")
            if ctype == 1:
                inner = [
                    c for c in (fill(c) for c in component.get("components") or []) if c is not None
                ]
                return {"type": 1, "components": inner}
            if ctype == 18:
                filled = fill(component.get("component") or {})
                return None if filled is None else {"type": 18, "component": filled}
            custom_id = component.get("custom_id")
            if custom_id is None:
                return None
            value = values.get(str(custom_id))
            if ctype == 4:
                return {
                    "type": 4,
                    "custom_id": custom_id,
                    "value": "" if value is None else str(value),
                }
            chosen = [] if value is None else [value] if isinstance(value, str) else list(value)
            return {"type": ctype, "custom_id": custom_id, "values": chosen}

        components = [c for c in (fill(c) for c in modal.get("components") or []) if c is not None]
        payload = self._interaction_base(
            interaction_type=5,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user_id if user_id is None else user_id,
            locale=locale,
        )
        payload["data"] = {"custom_id": modal["custom_id"], "components": components}
        source = (
            None if interaction.message_id is None else self.messages.get(interaction.message_id)
        )
        if source is not None:
            payload["message"] = self.message_payload(source)
        return await self._dispatch_interaction(
            payload,
            name=str(modal["custom_id"]),
            message_id=interaction.message_id,
            timeout=timeout,
        )

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,
        *,
        what: str = "",
    ) -> None:
        """Poll ``predicate`` until true; AssertionError (with the recent requests) on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if time.monotonic() > deadline:
                label = what or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {label}\n"
                    f"recent requests:\n{self.describe_requests()}"
                )
            await asyncio.sleep(0.005)

    async def wait_for_message(
        self,
        predicate: Callable[[FakeMessage], bool],
        timeout: float = 10.0,
    ) -> FakeMessage:
        """The first (oldest) recorded message for which ``predicate`` holds, waiting for it."""
        found: list[FakeMessage] = []

        def check() -> bool:
            for message in list(self.messages.values()):
                if predicate(message):
                    found.append(message)
                    return True
            return False

        await self.wait_for(check, timeout, what="a matching message")
        return found[0]

    def interaction_messages(self) -> list[FakeMessage]:
        return [m for m in self.messages.values() if m.interaction_id is not None]

    def last_request(
        self, method: str | None = None, path_regex: str | None = None
    ) -> RecordedRequest | None:
        """The most recent recorded request matching ``method`` and ``re.search(path_regex)``."""
        for record in reversed(self.requests):
            if method is not None and record.method != method.upper():
                continue
            if path_regex is not None and re.search(path_regex, record.path) is None:
                continue
            return record
        return None
