"""The fake gateway: a websocket speaking Discord's gateway protocol (plain JSON text frames)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from ._state import JSON, DiscordState

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11


@dataclass
class GatewaySession:
    id: str
    intents: int
    seq: int = 0


@dataclass
class GatewayConnection:
    ws: web.WebSocketResponse
    request: web.Request
    session: GatewaySession | None = None
    ready: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, op: int, data: object, *, event: str | None = None) -> bool:
        async with self.lock:
            seq: int | None = None
            if op == OP_DISPATCH and self.session is not None:
                self.session.seq += 1
                seq = self.session.seq
            if self.ws.closed:
                return False
            try:
                await self.ws.send_str(json.dumps({"op": op, "d": data, "s": seq, "t": event}))
            except ConnectionError:
                return False
            return True


class Gateway:
    def __init__(self, state: DiscordState) -> None:
        self.state = state
        self.heartbeat_interval_ms = 41250
        self.url = ""  # set by FakeDiscord.start
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        self.current: GatewayConnection | None = None
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.connects = 0
        self.close_codes: list[int | None] = []
        self.received_ops: list[int] = []
        self.intents: int | None = None

    @property
    def connected(self) -> bool:
        conn = self.current
        return conn is not None and conn.ready and not conn.ws.closed

    async def wait_connected(self, timeout: float) -> GatewayConnection:
        deadline = time.monotonic() + timeout
        while True:
            conn = self.current
            if conn is not None and conn.ready and not conn.ws.closed:
                return conn
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no gateway session within {timeout}s (identifies={self.identifies}, "
                    f"resumes={self.resumes}, "
                    f"connects={self.connects}); is the bot running and pointed at the fake?"
                )
            await asyncio.sleep(0.005)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=0, timeout=5.0)
        await ws.prepare(request)
        conn = GatewayConnection(ws=ws, request=request)
        self.connections.append(conn)
        self.connects += 1
        try:
            await conn.send(
                OP_HELLO,
                {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]},
            )
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                if not isinstance(payload, dict):
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_payload(conn, payload)
        finally:
            self.close_codes.append(ws.close_code)
            self.connections.remove(conn)
            if self.current is conn:
                self.current = None
        return ws

    async def _on_payload(self, conn: GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if isinstance(op, int):
            self.received_ops.append(op)
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            await conn.send(OP_HEARTBEAT_ACK, None)
        elif op == OP_IDENTIFY and isinstance(data, dict):
            await self._identify(conn, data)
        elif op == OP_RESUME and isinstance(data, dict):
            await self._resume(conn, data)
        elif op == OP_REQUEST_GUILD_MEMBERS and isinstance(data, dict):
            await self._request_members(conn, data)
        elif op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE):
            pass
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        if data.get("token") != self.state.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        intents = int(data.get("intents") or 0)
        self.intents = intents
        session = GatewaySession(id=uuid.uuid4().hex, intents=intents)
        self.sessions[session.id] = session
        conn.session = session
        self.identifies += 1
        state = self.state
        ready: JSON = {
            "v": 10,
            "user": dict(state.bot_user),
            "user_settings": {},
            "guilds": [{"id": str(gid), "unavailable": True} for gid in state.guilds],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "application": {"id": str(state.application_id), "flags": 0},
            "_trace": ["fake-gateway"],
        }
        await conn.send(OP_DISPATCH, ready, event="READY")
        conn.ready = True
        self.current = conn
        for guild in list(state.guilds.values()):
            await conn.send(OP_DISPATCH, guild.guild_payload(intents=intents), event="GUILD_CREATE")

    async def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        if data.get("token") != self.state.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = self.sessions.get(str(data.get("session_id")))
        if session is None:
            await conn.send(OP_INVALID_SESSION, False)
            return
        conn.session = session
        self.resumes += 1
        conn.ready = True
        self.current = conn
        await conn.send(OP_DISPATCH, {"_trace": ["fake-gateway"]}, event="RESUMED")

    async def _request_members(self, conn: GatewayConnection, data: JSON) -> None:
        guild_ids = data.get("guild_id")
        ids = [g for g in (guild_ids if isinstance(guild_ids, list) else [guild_ids]) if g]
        wanted = data.get("user_ids")
        wanted_ids = (
            None
            if wanted is None
            else {int(u) for u in (wanted if isinstance(wanted, list) else [wanted])}
        )
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        for raw_id in ids:
            guild = self.state.guilds.get(int(raw_id))
            if guild is None:
                continue
            members = [
                guild.member_payload(uid, permissions=False)
                for uid, member in guild.members.items()
                if (wanted_ids is None or uid in wanted_ids)
                and str(member["user"]["username"]).lower().startswith(query)
            ]
            if limit:
                members = members[:limit]
            chunk: JSON = {
                "guild_id": str(guild.id),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            await conn.send(OP_DISPATCH, chunk, event="GUILD_MEMBERS_CHUNK")

    async def dispatch(self, event: str, data: JSON, *, intent: int | None = None) -> bool:
        """Send a dispatch to the live session; False when nobody is connected or the
        session did not ask for the intent."""
        conn = self.current
        if conn is None or not conn.ready or conn.session is None:
            return False
        if intent is not None and not conn.session.intents & intent:
            return False
        return await conn.send(OP_DISPATCH, data, event=event)

    async def drop(self, code: int | None = 4000) -> None:
        conn = self.current
        if conn is None:
            raise AssertionError("drop_gateway: no gateway connection")
        self.current = None
        conn.ready = False
        if code is None:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            return
        await conn.ws.close(code=code, message=b"Fake gateway dropped the connection.")

    async def send_op(self, op: int, data: object) -> None:
        conn = self.current
        if conn is None:
            raise AssertionError("no gateway connection")
        if op in (OP_RECONNECT, OP_INVALID_SESSION):
            self.current = None
            conn.ready = False
            if op == OP_INVALID_SESSION and data is False and conn.session is not None:
                self.sessions.pop(conn.session.id, None)
        await conn.send(op, data)

    async def close_all(self) -> None:
        self.current = None
        for conn in list(self.connections):
            if not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"Fake Discord is shutting down.")
