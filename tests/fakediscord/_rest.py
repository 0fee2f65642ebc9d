"""The fake REST API (served under /api/v10) and the attachment "CDN"."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from aiohttp import BodyPartReader, web

from ._commands import validate_commands
from ._gateway import Gateway
from ._permissions import VIEW_CHANNEL
from ._ratelimit import Decision, major_parameter
from ._state import (
    API_PREFIX,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    JSON,
    ApiError,
    Blob,
    DiscordState,
    FakeFile,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    RecordedRequest,
    guess_content_type,
    image_size,
    now_iso,
)
from ._validation import (
    compute_mentions,
    validate_choices,
    validate_message,
    validate_modal,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_current: contextvars.ContextVar[RecordedRequest] = contextvars.ContextVar("fakediscord_request")


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """discord.py only decodes JSON when Content-Type is exactly ``application/json``."""
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(err: ApiError) -> web.Response:
    return json_response(err.body(), status=err.status, headers=err.headers)


def no_content() -> web.Response:
    return web.Response(status=204)


@dataclass
class _Body:
    json: Any
    files: list[FakeFile]


async def _parse_body(request: web.Request) -> _Body:
    if not request.body_exists:
        return _Body(None, [])
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        files: list[FakeFile] = []
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue
            data = bytes(await part.read(decode=False))
            name = part.name or ""
            if name == "payload_json":
                payload = json.loads(data)
            elif name.startswith("files[") and name.endswith("]"):
                filename = part.filename or name
                sent_type = part.headers.get("Content-Type")
                files.append(
                    FakeFile(
                        filename=filename,
                        content_type=guess_content_type(filename, sent_type),
                        data=data,
                        index=int(name[len("files[") : -1]),
                    )
                )
        return _Body(payload, files)
    raw = await request.read()
    if not raw:
        return _Body(None, [])
    if request.content_type == "application/json":
        return _Body(json.loads(raw), [])  # invalid JSON: answered 400 code 50109
    return _Body(raw.decode(errors="replace"), [])


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class RestApi:
    def __init__(self, state: DiscordState, gateway: Gateway) -> None:
        self.state = state
        self.gateway = gateway

    # ------------------------------------------------------------------ plumbing

    def setup(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/users/@me", self.get_me),
            ("POST", "/users/@me/channels", self.create_dm),
            ("GET", r"/users/{user_id:\d+}", self.get_user),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", r"/applications/{app:\d+}/commands", self.get_commands),
            ("PUT", r"/applications/{app:\d+}/commands", self.put_commands),
            ("POST", r"/applications/{app:\d+}/commands", self.post_command),
            ("DELETE", r"/applications/{app:\d+}/commands/{cmd:\d+}", self.delete_command),
            ("GET", r"/applications/{app:\d+}/guilds/{guild_id:\d+}/commands", self.get_commands),
            ("PUT", r"/applications/{app:\d+}/guilds/{guild_id:\d+}/commands", self.put_commands),
            ("POST", r"/applications/{app:\d+}/guilds/{guild_id:\d+}/commands", self.post_command),
            (
                "DELETE",
                r"/applications/{app:\d+}/guilds/{guild_id:\d+}/commands/{cmd:\d+}",
                self.delete_command,
            ),
            ("GET", r"/guilds/{guild_id:\d+}", self.get_guild),
            ("GET", r"/guilds/{guild_id:\d+}/channels", self.get_guild_channels),
            ("GET", r"/guilds/{guild_id:\d+}/roles", self.get_guild_roles),
            ("GET", r"/guilds/{guild_id:\d+}/members", self.get_guild_members),
            ("GET", r"/guilds/{guild_id:\d+}/members/{user_id:\d+}", self.get_guild_member),
            ("GET", r"/channels/{channel_id:\d+}", self.get_channel),
            ("POST", r"/channels/{channel_id:\d+}/typing", self.typing),
            ("GET", r"/channels/{channel_id:\d+}/messages", self.list_messages),
            ("POST", r"/channels/{channel_id:\d+}/messages", self.create_channel_message),
            (
                "GET",
                r"/channels/{channel_id:\d+}/messages/{message_id:\d+}",
                self.get_channel_message,
            ),
            (
                "PATCH",
                r"/channels/{channel_id:\d+}/messages/{message_id:\d+}",
                self.edit_channel_message,
            ),
            (
                "DELETE",
                r"/channels/{channel_id:\d+}/messages/{message_id:\d+}",
                self.delete_channel_message,
            ),
            (
                "PUT",
                r"/channels/{channel_id:\d+}/messages/{message_id:\d+}/reactions/{emoji}/@me",
                self.react,
            ),
            (
                "DELETE",
                r"/channels/{channel_id:\d+}/messages/{message_id:\d+}/reactions/{emoji}/@me",
                self.unreact,
            ),
            (
                "POST",
                r"/interactions/{interaction_id:\d+}/{token}/callback",
                self.interaction_callback,
            ),
            ("POST", r"/webhooks/{app:\d+}/{token}", self.webhook_execute),
            ("GET", r"/webhooks/{app:\d+}/{token}/messages/{message_id}", self.webhook_get_message),
            (
                "PATCH",
                r"/webhooks/{app:\d+}/{token}/messages/{message_id}",
                self.webhook_edit_message,
            ),
            (
                "DELETE",
                r"/webhooks/{app:\d+}/{token}/messages/{message_id}",
                self.webhook_delete_message,
            ),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_route("POST", API_PREFIX + "/attachments/refresh-urls", self.refresh_urls)
        app.router.add_get(
            r"/attachments/{channel_id:\d+}/{attachment_id:\d+}/{filename}", self.cdn
        )
        app.router.add_get(
            r"/ephemeral-attachments/{app:\d+}/{attachment_id:\d+}/{filename}", self.cdn
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path == "/gateway":
            return await handler(request)
        is_api = path.startswith(API_PREFIX)
        rel = path[len(API_PREFIX) :] if is_api else path
        body_error: ApiError | None = None
        try:
            body = await _parse_body(request) if is_api else _Body(None, [])
        except (ValueError, UnicodeDecodeError):
            body, body_error = (
                _Body(None, []),
                ApiError(400, 50109, "The request body contains invalid JSON."),
            )
        headers = dict(request.headers)
        auth = headers.get("Authorization")
        authorized = auth == f"Bot {self.state.token}"
        if auth is not None:
            headers["Authorization"] = "Bot [redacted]" if authorized else "[redacted]"
        record = RecordedRequest(
            method=request.method,
            path=rel,
            query=dict(request.query),
            json=body.json,
            files=body.files,
            headers=headers,
            time=time.monotonic(),
            authorized=authorized,
        )
        self.state.requests.append(record)
        token = _current.set(record)
        try:
            if body_error is not None:
                response: web.StreamResponse = error_response(body_error)
            else:
                response = await self._respond(request, handler, rel, is_api, authorized, body)
                lost = self._answer_lost(request.method, rel)
                if lost is not None:
                    response = lost
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must not become a retried 500
            self.state.internal_errors.append(exc)
            response = json_response(
                {"code": 0, "message": f"fake discord internal error: {exc!r}"}, status=400
            )
        finally:
            _current.reset(token)
        record.status = response.status
        return response

    async def _respond(
        self,
        request: web.Request,
        handler: Handler,
        rel: str,
        is_api: bool,
        authorized: bool,
        body: _Body,
    ) -> web.StreamResponse:
        hold = next((h for h in self.state.holds if h.take(request.method, rel, body.json)), None)
        if hold is not None:  # answered never: the test kills the client meanwhile
            if hold.after:
                with contextlib.suppress(ApiError, web.HTTPException):
                    await handler(request)
            await hold.block()
            if request.transport is not None:
                request.transport.close()
            return json_response({"message": "held", "code": 0}, status=503)
        for failure in self.state.failures:
            if failure.after_handling:
                continue
            if failure.remaining > 0 and failure.matches(request.method, rel):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self.state.failures.remove(failure)
                return json_response(failure.json, status=failure.status, headers=failure.headers)
        unmatched = request.match_info.http_exception
        if unmatched is not None:  # unknown route / method: Discord's 404 (never a retried 500)
            return json_response(
                {"message": f"{unmatched.status}: {unmatched.reason}", "code": 0},
                status=unmatched.status,
            )
        limit_headers: dict[str, str] = {}
        try:
            if is_api:
                webhook_route = rel.startswith(("/webhooks/", "/interactions/"))
                if not webhook_route and not authorized:
                    return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
                decision = self._rate_limit(request, rel, global_exempt=webhook_route)
                if decision.refusal is not None:
                    return json_response(decision.refusal, status=429, headers=decision.headers)
                limit_headers = decision.headers
                if any(f.size > self.state.upload_limit for f in body.files):
                    raise ApiError(413, 40005, "Request entity too large")
            response = await handler(request)
        except ApiError as err:
            response = error_response(err)
        except web.HTTPException as exc:
            response = json_response(
                {"message": f"{exc.status}: {exc.reason}", "code": 0}, status=exc.status
            )
        response.headers.update(limit_headers)
        return response

    def _rate_limit(self, request: web.Request, rel: str, *, global_exempt: bool) -> Decision:
        """Discord's per-route and global limits (see ``_ratelimit``)."""
        template = request.match_info.route.resource
        canonical = template.canonical if template is not None else rel
        canonical = canonical.removeprefix(API_PREFIX)
        return self.state.rate_limits.check(
            method=request.method,
            template=canonical,
            path=rel,
            major=major_parameter(canonical, dict(request.match_info)),
            global_exempt=global_exempt,
        )

    def _answer_lost(self, method: str, rel: str) -> web.Response | None:
        """A failure injected with ``after_handling``: the request took effect, its answer is
        replaced (a 5xx from a proxy after Discord had created the message)."""
        for failure in self.state.failures:
            if failure.after_handling and failure.matches(method, rel):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self.state.failures.remove(failure)
                return json_response(failure.json, status=failure.status, headers=failure.headers)
        return None

    @staticmethod
    def _body() -> RecordedRequest:
        return _current.get()

    def _payload(self) -> JSON:
        payload = self._body().json
        return payload if isinstance(payload, dict) else {}

    # ------------------------------------------------------------------ messages (shared)

    def _store_attachment(self, channel_id: int, file: FakeFile) -> JSON:
        attachment_id = self.state.snowflakes.next()
        self.state.blobs[attachment_id] = Blob(file.data, file.filename, file.content_type)
        url = (
            f"{self.state.base_url}/attachments/{channel_id}/{attachment_id}/{quote(file.filename)}"
        )
        attachment: JSON = {
            "id": str(attachment_id),
            "filename": file.filename,
            "size": file.size,
            "url": url,
            "proxy_url": url,
            "flags": 0,
        }
        if file.content_type:
            attachment["content_type"] = file.content_type
        if file.description is not None:
            attachment["description"] = file.description
        if file.spoiler:
            attachment["spoiler"] = True
        dims = image_size(file.data, file.content_type)
        if dims is not None:
            attachment["width"], attachment["height"] = dims
        return attachment

    def _new_attachments(self, message: FakeMessage, payload: JSON, files: list[FakeFile]) -> None:
        entries = payload.get("attachments")
        by_index = {str(e.get("id")): e for e in entries or [] if isinstance(e, dict)}
        if entries is not None:
            keep = [i for i, a in enumerate(message.attachments) if a["id"] in by_index]
            message.attachments = [message.attachments[i] for i in keep]
            message.files = [message.files[i] for i in keep if i < len(message.files)]
        for file in files:
            entry = by_index.get(str(file.index))
            if entry is not None:
                file.filename = str(entry.get("filename") or file.filename)
                description = entry.get("description")
                file.description = None if description is None else str(description)
            file.spoiler = file.filename.startswith("SPOILER_") or bool(
                entry and entry.get("spoiler")
            )
            message.attachments.append(self._store_attachment(message.channel_id, file))
            message.files.append(file)

    def _apply_content(self, message: FakeMessage, payload: JSON, *, replace: bool) -> None:
        """Set the fields from a create (replace=True) or an edit (only keys present) payload."""
        if replace or "content" in payload:
            content = payload.get("content")
            message.content = None if content is None else str(content)
        if replace or "embeds" in payload:
            message.embeds = list(payload.get("embeds") or [])
        if replace or "components" in payload:
            message.components = list(payload.get("components") or [])
        if replace or "allowed_mentions" in payload:
            mentions = payload.get("allowed_mentions")
            message.allowed_mentions = mentions if isinstance(mentions, dict) else None
        replied: int | None = None
        if message.message_reference is not None:
            ref = self.state.messages.get(int(message.message_reference.get("message_id") or 0))
            replied = ref.author_id if ref is not None else None
        everyone, users, roles = compute_mentions(
            message.content, message.allowed_mentions, replied_user_id=replied
        )
        message.mention_everyone, message.mentioned_user_ids, message.mentioned_role_ids = (
            everyone,
            users,
            roles,
        )

    def _validate(self, payload: JSON, files: list[FakeFile], *, creating: bool) -> None:
        if not self.state.validate:
            return
        err = validate_message(payload, files=len(files), creating=creating)
        if err is not None:
            raise err

    async def _create_message(
        self,
        *,
        channel_id: int,
        payload: JSON,
        files: list[FakeFile],
        via: Literal["channel", "webhook", "original"],
        interaction: FakeInteraction | None = None,
        flags: int | None = None,
    ) -> FakeMessage:
        state = self.state
        message = FakeMessage(
            id=state.snowflakes.next(),
            channel_id=channel_id,
            guild_id=state.guild_of_channel(channel_id),
            author_id=state.bot_user_id,
            via=via,
            payload=copy.deepcopy(payload),
            tts=bool(payload.get("tts", False)),
        )
        sent_flags = int(payload.get("flags") or 0)
        if via == "channel":
            sent_flags &= ~(FLAG_EPHEMERAL | FLAG_LOADING)
        message.flags = sent_flags if flags is None else flags
        reference = payload.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id") is not None:
            message.message_reference = {
                "type": int(reference.get("type") or 0),
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel_id),
                **({"guild_id": str(message.guild_id)} if message.guild_id else {}),
            }
            message.type = 19
        if interaction is not None:
            message.interaction_id = interaction.id
            message.webhook_id = state.application_id
            if interaction.type == 2:
                message.type = 20
        self._apply_content(message, payload, replace=True)
        self._new_attachments(message, payload, files)
        state.messages[message.id] = message
        await self._emit("MESSAGE_CREATE", message)
        return message

    async def _edit_message(
        self, message: FakeMessage, payload: JSON, files: list[FakeFile]
    ) -> None:
        message.edits.append(copy.deepcopy(payload))
        self._apply_content(message, payload, replace=False)
        if "flags" in payload and payload["flags"] is not None:
            keep = message.flags & FLAG_EPHEMERAL
            message.flags = keep | (int(payload["flags"]) & ~(FLAG_EPHEMERAL | FLAG_LOADING))
        else:
            message.flags &= ~FLAG_LOADING
        self._new_attachments(message, payload, files)
        message.edited_timestamp = now_iso()
        await self._emit("MESSAGE_UPDATE", message)

    async def _fill_deferred(
        self, message: FakeMessage, payload: JSON, files: list[FakeFile]
    ) -> None:
        """Discord: the first follow-up after a type 5 defer replaces the "thinking" message
        (keeping the defer's ephemeral setting)."""
        keep = message.flags & FLAG_EPHEMERAL
        message.flags = keep | (int(payload.get("flags") or 0) & ~(FLAG_EPHEMERAL | FLAG_LOADING))
        message.payload = copy.deepcopy(payload)
        self._apply_content(message, payload, replace=True)
        self._new_attachments(message, payload, files)
        await self._emit("MESSAGE_UPDATE", message)

    async def _emit(self, event: str, message: FakeMessage) -> None:
        if not self.state.message_events or message.ephemeral:
            return
        intent = INTENT_GUILD_MESSAGES if message.guild_id is not None else INTENT_DIRECT_MESSAGES
        if event == "MESSAGE_DELETE":
            data: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
        else:
            data = self.state.message_payload(message)
        await self.gateway.dispatch(event, data, intent=intent)

    # ------------------------------------------------------------------ gateway / users / apps

    async def get_gateway(self, request: web.Request) -> web.StreamResponse:
        return json_response({"url": self.gateway.url})

    async def get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        return json_response(
            {
                "url": self.gateway.url,
                # Discord docs topics/gateway "Get Gateway Bot": the recommended shard count
                # and the session start limit (IDENTIFYs left, max_concurrency).
                "shards": self.gateway.shard_count,
                "session_start_limit": self.gateway.session_start_limit(),
            }
        )

    async def get_me(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.state.bot_user)

    async def get_user(self, request: web.Request) -> web.StreamResponse:
        user_id = int(request.match_info["user_id"])
        if user_id not in self.state.users:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(self.state.user_payload(user_id))

    async def create_dm(self, request: web.Request) -> web.StreamResponse:
        recipient = self._payload().get("recipient_id")
        if recipient is None:
            raise ApiError(400, 50035, "Invalid Form Body")
        return json_response(self.state.dm_channel_for(int(recipient)))

    async def get_application(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        return json_response(
            {
                "id": str(state.application_id),
                "name": state.bot_name,
                "icon": None,
                "description": "Fake application",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": state.user_payload(state.owner_id),
                "team": None,
                "bot": dict(state.bot_user),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(state.guilds),
            }
        )

    def _check_app(self, request: web.Request) -> int | None:
        if int(request.match_info["app"]) != self.state.application_id:
            raise ApiError(404, 10002, "Unknown Application")
        guild = request.match_info.get("guild_id")
        if guild is None:
            return None
        if int(guild) not in self.state.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return int(guild)

    def _registered(self, guild_id: int | None) -> list[JSON]:
        if guild_id is None:
            return self.state.registered_global_commands
        return self.state.registered_guild_commands.get(guild_id, [])

    def _validate_commands(self, commands: list[JSON]) -> None:
        if self.state.validate:
            err = validate_commands(commands)
            if err is not None:
                raise err

    async def get_commands(self, request: web.Request) -> web.StreamResponse:
        return json_response(self._registered(self._check_app(request)))

    async def put_commands(self, request: web.Request) -> web.StreamResponse:
        guild_id = self._check_app(request)
        commands = self._body().json
        if not isinstance(commands, list):
            raise ApiError(400, 50035, "Invalid Form Body")
        self._validate_commands(commands)
        return json_response(self.state.register_commands(guild_id, commands))

    async def post_command(self, request: web.Request) -> web.StreamResponse:
        guild_id = self._check_app(request)
        command = self._payload()
        self._validate_commands([command])
        if guild_id is None:
            current = list(self.state.synced_global_commands)
        else:
            current = list(self.state.synced_guild_commands.get(guild_id, []))
        current = [c for c in current if c.get("name") != command.get("name")] + [command]
        registered = self.state.register_commands(guild_id, current)
        return json_response(
            next(c for c in registered if c["name"] == command.get("name")), status=201
        )

    async def delete_command(self, request: web.Request) -> web.StreamResponse:
        guild_id = self._check_app(request)
        command_id = request.match_info["cmd"]
        registered = self._registered(guild_id)
        names = [c["name"] for c in registered if c["id"] == command_id]
        if not names:
            raise ApiError(404, 10063, "Unknown application command")
        synced = (
            self.state.synced_global_commands
            if guild_id is None
            else self.state.synced_guild_commands[guild_id]
        )
        self.state.register_commands(guild_id, [c for c in synced if c.get("name") not in names])
        return no_content()

    # ------------------------------------------------------------------ guilds & channels

    def _guild(self, request: web.Request) -> FakeGuild:
        guild = self.state.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild

    async def get_guild(self, request: web.Request) -> web.StreamResponse:
        return json_response(self._guild(request).guild_payload(members=False))

    async def get_guild_channels(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        return json_response([self.state.channel_payload(cid) for cid in guild.channels])

    async def get_guild_roles(self, request: web.Request) -> web.StreamResponse:
        return json_response(list(self._guild(request).roles.values()))

    async def get_guild_members(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        return json_response(
            [guild.member_payload(uid, permissions=False) for uid in guild.members]
        )

    async def get_guild_member(self, request: web.Request) -> web.StreamResponse:
        guild = self._guild(request)
        user_id = int(request.match_info["user_id"])
        if user_id not in guild.members:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(guild.member_payload(user_id, permissions=False))

    def _channel_id(self, request: web.Request) -> int:
        channel_id = int(request.match_info["channel_id"])
        if not self.state.channel_exists(channel_id):
            raise ApiError(404, 10003, "Unknown Channel")
        return channel_id

    def _channel_message(self, request: web.Request) -> FakeMessage:
        channel_id = self._channel_id(request)
        message = self.state.messages.get(int(request.match_info["message_id"]))
        if (
            message is None
            or message.channel_id != channel_id
            or message.deleted
            or message.ephemeral
        ):
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def get_channel(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.state.channel_payload(self._channel_id(request)))

    async def typing(self, request: web.Request) -> web.StreamResponse:
        channel_id = self._channel_id(request)
        self.state.channel_denied(channel_id)
        return no_content()

    async def list_messages(self, request: web.Request) -> web.StreamResponse:
        channel_id = self._channel_id(request)
        if not self.state.app_permissions(channel_id) & VIEW_CHANNEL and self._in_guild(channel_id):
            raise ApiError(403, 50001, "Missing Access")
        if not self.state.can_read_history(channel_id):
            # resources/message ("Get Channel Messages"): "If the current user is missing the
            # READ_MESSAGE_HISTORY permission in the channel, then no messages will be returned."
            return json_response([])
        limit = int(request.query.get("limit", "50"))
        messages = self.state.channel_messages(channel_id, include_ephemeral=False)
        newest_first = list(reversed(messages))[:limit]
        return json_response([self.state.message_payload(m) for m in newest_first])

    async def create_channel_message(self, request: web.Request) -> web.StreamResponse:
        channel_id = self._channel_id(request)
        self.state.channel_denied(channel_id)
        self.state.require_dm_open(channel_id)
        record = self._body()
        self.state.require_post(channel_id, files=bool(record.files))
        payload = self._payload()
        self._validate(payload, record.files, creating=True)
        first = self._nonce_message(payload)
        if first is not None:
            return json_response(self.state.message_payload(first))
        message = await self._create_message(
            channel_id=channel_id, payload=payload, files=record.files, via="channel"
        )
        if payload.get("enforce_nonce") and payload.get("nonce") is not None:
            key = (message.author_id, str(payload["nonce"]))
            self.state.nonces[key] = (message.id, time.monotonic())
        return json_response(self.state.message_payload(message))

    def _nonce_message(self, payload: JSON) -> FakeMessage | None:
        """Discord docs resources/message, Create Message: "If enforce_nonce is true and a
        message was created by the same author with the same nonce in the past few minutes,
        that message will be returned and no new message will be created"."""
        if not payload.get("enforce_nonce") or payload.get("nonce") is None:
            return None
        found = self.state.nonces.get((self.state.bot_user_id, str(payload["nonce"])))
        if found is None or time.monotonic() - found[1] > self.state.nonce_window:
            return None
        return self.state.messages.get(found[0])

    async def get_channel_message(self, request: web.Request) -> web.StreamResponse:
        # resources/message ("Get Channel Message"): needs VIEW_CHANNEL and
        # READ_MESSAGE_HISTORY in a guild channel.
        channel_id = self._channel_id(request)
        if not self.state.can_read_history(channel_id):
            if not self.state.app_permissions(channel_id) & VIEW_CHANNEL:
                raise ApiError(403, 50001, "Missing Access")
            raise ApiError(403, 50013, "Missing Permissions")
        return json_response(self.state.message_payload(self._channel_message(request)))

    def _in_guild(self, channel_id: int) -> bool:
        return self.state.guild_of_channel(channel_id) is not None

    async def edit_channel_message(self, request: web.Request) -> web.StreamResponse:
        message = self._channel_message(request)
        self.state.channel_denied(message.channel_id)
        record = self._body()
        payload = self._payload()
        self._validate(payload, record.files, creating=False)
        await self._edit_message(message, payload, record.files)
        return json_response(self.state.message_payload(message))

    async def delete_channel_message(self, request: web.Request) -> web.StreamResponse:
        message = self._channel_message(request)
        message.deleted = True
        await self._emit("MESSAGE_DELETE", message)
        return no_content()

    async def react(self, request: web.Request) -> web.StreamResponse:
        message = self._channel_message(request)
        emoji = unquote(request.match_info["emoji"])
        if emoji not in message.reactions:
            message.reactions.append(emoji)
        return no_content()

    async def unreact(self, request: web.Request) -> web.StreamResponse:
        message = self._channel_message(request)
        emoji = unquote(request.match_info["emoji"])
        if emoji in message.reactions:
            message.reactions.remove(emoji)
        return no_content()

    # ------------------------------------------------------------------ interactions

    async def interaction_callback(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        interaction = state.interactions.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        record = self._body()
        payload = self._payload()
        if state.token_expired(interaction):
            interaction.rejected_callbacks.append(payload)
            raise ApiError(401, 50027, "Invalid Webhook Token")
        age = time.monotonic() - interaction.created_at
        too_late = state.ack_deadline is not None and age > state.ack_deadline
        if state.late_ack or (too_late and not interaction.callbacks):
            interaction.rejected_callbacks.append(payload)
            raise ApiError(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            interaction.rejected_callbacks.append(payload)
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        response_type = int(payload.get("type") or 0)
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        assert isinstance(data, dict)
        if response_type in (4, 7):
            self._validate(data, record.files, creating=response_type == 4)
        if state.validate and response_type in (8, 9):
            error = validate_choices(data) if response_type == 8 else validate_modal(data)
            if error is not None:
                raise error
        if response_type in (6, 7) and interaction.message_id is None:
            raise ApiError(
                400, 40043, "Interaction response type is not valid for this interaction"
            )
        interaction.callbacks.append(payload)
        interaction.acknowledged_at = age
        resource: JSON = {"type": response_type}
        message: FakeMessage | None = None
        if response_type == 4:
            message = await self._create_message(
                channel_id=interaction.channel_id,
                payload=data,
                files=record.files,
                via="original",
                interaction=interaction,
            )
            interaction.original = message
        elif response_type == 5:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            message = await self._create_message(
                channel_id=interaction.channel_id,
                payload={},
                files=[],
                via="original",
                interaction=interaction,
                flags=flags,
            )
            interaction.original = message
            interaction.deferred_followup_pending = True
        elif response_type in (6, 7) and interaction.message_id is not None:
            message = state.messages.get(interaction.message_id)
            if message is not None:
                interaction.original = message
                if response_type == 7:
                    await self._edit_message(message, data, record.files)
        if message is not None and response_type != 6:
            resource["message"] = state.message_payload(message)
        body: JSON = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_id": None if message is None else str(message.id),
                "response_message_loading": response_type == 5,
                "response_message_ephemeral": bool(message is not None and message.ephemeral),
            },
            "resource": resource,
        }
        if _truthy(request.query.get("with_response")):
            return json_response(body)
        return no_content()

    def _webhook_interaction(self, request: web.Request) -> FakeInteraction:
        if int(request.match_info["app"]) != self.state.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        interaction = self.state.interactions_by_token.get(request.match_info["token"])
        if interaction is None or self.state.token_expired(interaction):
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return interaction

    def _webhook_message(self, request: web.Request) -> tuple[FakeInteraction, FakeMessage]:
        interaction = self._webhook_interaction(request)
        raw_id = request.match_info["message_id"]
        message: FakeMessage | None
        if raw_id == "@original":
            message = interaction.original
        else:
            message = next((m for m in interaction.messages if str(m.id) == raw_id), None)
        if message is None or message.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return interaction, message

    async def webhook_execute(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if not interaction.callbacks:
            raise ApiError(404, 10015, "Unknown Webhook")
        record = self._body()
        payload = self._payload()
        self._validate(payload, record.files, creating=True)
        original = interaction.original
        if interaction.deferred_followup_pending and original is not None and not original.deleted:
            interaction.deferred_followup_pending = False
            await self._fill_deferred(original, payload, record.files)
            message = original
        else:
            message = await self._create_message(
                channel_id=interaction.channel_id,
                payload=payload,
                files=record.files,
                via="webhook",
                interaction=interaction,
            )
        interaction.followups.append(message)
        if _truthy(request.query.get("wait")):
            return json_response(self.state.message_payload(message))
        return no_content()

    async def webhook_get_message(self, request: web.Request) -> web.StreamResponse:
        _, message = self._webhook_message(request)
        return json_response(self.state.message_payload(message))

    async def webhook_edit_message(self, request: web.Request) -> web.StreamResponse:
        interaction, message = self._webhook_message(request)
        record = self._body()
        payload = self._payload()
        self._validate(payload, record.files, creating=False)
        if message is interaction.original:
            interaction.deferred_followup_pending = False
        await self._edit_message(message, payload, record.files)
        return json_response(self.state.message_payload(message))

    async def webhook_delete_message(self, request: web.Request) -> web.StreamResponse:
        interaction, message = self._webhook_message(request)
        message.deleted = True
        if message is interaction.original:
            interaction.deferred_followup_pending = False
        await self._emit("MESSAGE_DELETE", message)
        return no_content()

    # ------------------------------------------------------------------ CDN

    async def refresh_urls(self, request: web.Request) -> web.StreamResponse:
        """reference ("Signed Attachment CDN URLs"): ``POST /attachments/refresh-urls`` with
        ``{"attachment_urls": [...]}`` answers ``{"refreshed_urls": [{"original",
        "refreshed"}]}``; URLs that are not Discord attachments are left out."""
        urls = self._payload().get("attachment_urls")
        if not isinstance(urls, list) or not 1 <= len(urls) <= 50:
            raise ApiError(400, 50035, "Invalid Form Body")
        refreshed: list[JSON] = []
        for url in urls:
            path = urlsplit(str(url)).path
            parts = path.split("/")
            known = (
                len(parts) == 5
                and parts[1] in ("attachments", "ephemeral-attachments")
                and parts[3].isdigit()
                and int(parts[3]) in self.state.blobs
            )
            if known:
                refreshed.append({"original": url, "refreshed": self.state.sign_url(str(url))})
        return json_response({"refreshed_urls": refreshed})

    async def cdn(self, request: web.Request) -> web.StreamResponse:
        blob = self.state.blobs.get(int(request.match_info["attachment_id"]))
        if blob is None:
            return web.Response(status=404, text="Not Found")
        problem = self.state.url_problem(request.path, dict(request.query))
        if problem is not None:
            # Discord's CDN answers an expired or altered signed URL with 404 and this text
            # (reference, "Signed Attachment CDN URLs").
            self.state.refused_cdn.append((request.path, problem))
            return web.Response(status=404, text="This content is no longer available.")
        return web.Response(
            body=blob.data,
            headers={"Content-Type": blob.content_type or "application/octet-stream"},
        )
