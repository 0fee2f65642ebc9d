"""The fake gateway: a websocket speaking Discord's gateway protocol (plain JSON text frames).

Sharding (Discord docs topics/gateway "Sharding", "Identify", "Session Start Limit"): a session
IDENTIFYs as ``shard: [shard_id, num_shards]`` (absent means ``[0, 1]``); it is sent only the
guilds with ``(guild_id >> 22) % num_shards == shard_id`` and their events, DMs go to shard 0."""

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

# Discord docs topics/opcodes-and-status-codes, "Gateway Close Event Codes".
CLOSE_INVALID_SHARD = 4010  # "You sent an invalid shard when identifying."
CLOSE_SHARDING_REQUIRED = 4011  # "The session would have handled too many guilds"

# Discord docs topics/gateway "Sharding": "each shard can only support a maximum of 2500 guilds".
GUILDS_PER_SHARD = 2500
# Discord docs topics/gateway "Session Start Limit": max_concurrency identifies per 5 seconds,
# and (topics/gateway "Identify") 1000 identifies per 24 hours.
IDENTIFY_WINDOW = 5.0
SESSION_START_TOTAL = 1000
SESSION_START_RESET = 24 * 3600.0

Shard = tuple[int, int]


def shard_for(guild_id: int | None, num_shards: int) -> int:
    """The shard that receives a guild's events (Discord docs topics/gateway "Sharding"
    formula); DMs (no guild) go to shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % num_shards


def parse_shard(value: object) -> Shard | None:
    """IDENTIFY's ``shard`` field: ``[shard_id, num_shards]`` with ``0 <= shard_id <
    num_shards``; None when it is malformed (Discord closes with 4010)."""
    if value is None:
        return (0, 1)
    if not isinstance(value, list) or len(value) != 2:
        return None
    shard_id, num_shards = value
    if type(shard_id) is not int or type(num_shards) is not int:
        return None
    if num_shards < 1 or not 0 <= shard_id < num_shards:
        return None
    return (shard_id, num_shards)


@dataclass
class GatewaySession:
    id: str
    intents: int
    shard: Shard = (0, 1)
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
    def __init__(
        self,
        state: DiscordState,
        *,
        shard_count: int = 1,
        max_concurrency: int = 1,
        identify_window: float = IDENTIFY_WINDOW,
        guilds_per_shard: int = GUILDS_PER_SHARD,
    ) -> None:
        self.state = state
        self.heartbeat_interval_ms = 41250
        # Discord's ACK crosses the network: it arrives a round trip after the heartbeat (tens
        # of ms). Answered at once over loopback, it can reach discord.py before its heartbeat
        # thread records the send, and the client then reports itself 41 s behind ("Can't keep
        # up", discord.py's gateway.KeepAliveHandler.ack; Rapptz/discord.py#10448).
        self.heartbeat_ack_delay = 0.05
        self._acks: set[asyncio.Task[bool]] = set()
        self.url = ""  # set by FakeDiscord.start
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        # The live session of each shard, newest last; events are routed through it.
        self.live: dict[Shard, GatewayConnection] = {}
        # What GET /gateway/bot answers: the recommended shard count and max_concurrency.
        self.shard_count = shard_count
        self.max_concurrency = max_concurrency
        self.identify_window = identify_window
        self.guilds_per_shard = guilds_per_shard
        self.session_start_total = SESSION_START_TOTAL
        self.session_starts: list[float] = []  # monotonic times of accepted IDENTIFYs
        self._bucket_identified: dict[int, float] = {}
        self.identify_rate_limited = 0
        self.identified_shards: list[Shard] = []
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.connects = 0
        self.close_codes: list[int | None] = []
        self.received_ops: list[int] = []
        self.intents: int | None = None

    @staticmethod
    def _alive(conn: GatewayConnection) -> bool:
        return conn.ready and not conn.ws.closed and conn.session is not None

    @property
    def connected(self) -> bool:
        """Some shard has a live, identified or resumed session."""
        return any(self._alive(conn) for conn in self.live.values())

    @property
    def current(self) -> GatewayConnection | None:
        """The live session of shard 0 (the only one of an unsharded bot)."""
        return self.route(None)

    def route(self, guild_id: int | None) -> GatewayConnection | None:
        """The live session that receives events of ``guild_id`` (None: DMs, shard 0)."""
        for (shard_id, num_shards), conn in reversed(self.live.items()):
            if self._alive(conn) and shard_for(guild_id, num_shards) == shard_id:
                return conn
        # The newest session of the shard went away while an older one still holds it (a
        # rolling restart's old process stopped last): events go to the one left.
        holding = self.holding(guild_id)
        return holding[-1] if holding else None

    def holding(self, guild_id: int | None) -> list[GatewayConnection]:
        """Every live session whose shard receives ``guild_id``'s events, oldest first: more
        than one when two processes hold one shard (a rolling restart's overlap). Events go
        to the newest (:meth:`route`) unless a test names one (``via``)."""
        return [
            conn
            for conn in self.connections
            if self._alive(conn)
            and conn.session is not None
            and shard_for(guild_id, conn.session.shard[1]) == conn.session.shard[0]
        ]

    def shard_connection(self, shard_id: int) -> GatewayConnection | None:
        for (live_id, _), conn in reversed(self.live.items()):
            if live_id == shard_id and self._alive(conn):
                return conn
        return None

    def _forget(self, conn: GatewayConnection) -> None:
        conn.ready = False
        for shard in [k for k, v in self.live.items() if v is conn]:
            del self.live[shard]

    def _go_live(self, conn: GatewayConnection, shard: Shard) -> None:
        conn.ready = True
        self.live.pop(shard, None)
        self.live[shard] = conn

    def session_start_limit(self) -> JSON:
        """GET /gateway/bot's ``session_start_limit`` (Discord docs topics/gateway "Session
        Start Limit Object"): accepted IDENTIFYs count against ``total`` per 24 hours."""
        now = time.monotonic()
        starts = [t for t in self.session_starts if now - t < SESSION_START_RESET]
        reset_after = SESSION_START_RESET - (now - starts[0]) if starts else 0.0
        return {
            "total": self.session_start_total,
            "remaining": max(0, self.session_start_total - len(starts)),
            "reset_after": int(reset_after * 1000),
            "max_concurrency": self.max_concurrency,
        }

    async def wait_connected(
        self, timeout: float, *, guild_id: int | None = None
    ) -> GatewayConnection:
        """Wait for the live session that holds ``guild_id``'s shard (None: shard 0)."""
        deadline = time.monotonic() + timeout
        while True:
            conn = self.route(guild_id)
            if conn is not None:
                return conn
            if time.monotonic() > deadline:
                where = "" if guild_id is None else f" for guild {guild_id}"
                raise AssertionError(
                    f"no gateway session{where} within {timeout}s "
                    f"(identifies={self.identifies}, shards={sorted(self.live)}, "
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
            self._forget(conn)
        return ws

    async def _on_payload(self, conn: GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if isinstance(op, int):
            self.received_ops.append(op)
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            ack = asyncio.create_task(self._ack_later(conn))
            self._acks.add(ack)
            ack.add_done_callback(self._acks.discard)
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

    async def _ack_later(self, conn: GatewayConnection) -> bool:
        await asyncio.sleep(self.heartbeat_ack_delay)
        return await conn.send(OP_HEARTBEAT_ACK, None)

    async def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        if data.get("token") != self.state.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        shard = parse_shard(data.get("shard"))
        if shard is None:
            await conn.ws.close(code=CLOSE_INVALID_SHARD, message=b"Invalid shard.")
            return
        shard_id, num_shards = shard
        guilds = [
            g for gid, g in self.state.guilds.items() if shard_for(gid, num_shards) == shard_id
        ]
        if len(guilds) > self.guilds_per_shard:
            await conn.ws.close(code=CLOSE_SHARDING_REQUIRED, message=b"Sharding required.")
            return
        now = time.monotonic()
        # Discord docs topics/gateway "Rate Limiting": over the concurrent identify limit
        # (one per bucket shard_id % max_concurrency per 5 s) "the Gateway will respond with
        # an Opcode 9 Invalid Session".
        bucket = shard_id % self.max_concurrency
        last = self._bucket_identified.get(bucket)
        if last is not None and now - last < self.identify_window:
            self.identify_rate_limited += 1
            await conn.send(OP_INVALID_SESSION, False)
            return
        # Discord docs topics/gateway "Identify": past the session start limit all sessions
        # end and the token is reset.
        if self.session_start_limit()["remaining"] <= 0:
            for other in [conn, *self.live.values()]:
                await other.ws.close(code=4004, message=b"Authentication failed.")
            return
        self._bucket_identified[bucket] = now
        self.session_starts.append(now)
        intents = int(data.get("intents") or 0)
        self.intents = intents
        session = GatewaySession(id=uuid.uuid4().hex, intents=intents, shard=shard)
        self.sessions[session.id] = session
        conn.session = session
        self.identifies += 1
        self.identified_shards.append(shard)
        state = self.state
        ready: JSON = {
            "v": 10,
            "user": dict(state.bot_user),
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
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
        if "shard" in data:
            ready["shard"] = [shard_id, num_shards]
        await conn.send(OP_DISPATCH, ready, event="READY")
        self._go_live(conn, shard)
        for guild in guilds:
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
        self._go_live(conn, session.shard)
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

    async def dispatch(
        self,
        event: str,
        data: JSON,
        *,
        intent: int | None = None,
        guild_id: int | None = None,
        via: GatewayConnection | None = None,
    ) -> bool:
        """Send a dispatch to the session holding the event's guild (``guild_id``, else the
        payload's ``guild_id``; none: shard 0), or to ``via``, one of :meth:`holding`'s;
        False when that shard has no live session or the session did not ask for the intent."""
        if guild_id is None and data.get("guild_id") is not None:
            guild_id = int(data["guild_id"])
        if via is not None and via not in self.holding(guild_id):
            raise AssertionError("`via` is not a live session of the event's shard")
        conn = via or self.route(guild_id)
        if conn is None or conn.session is None:
            return False
        if intent is not None and not conn.session.intents & intent:
            return False
        return await conn.send(OP_DISPATCH, data, event=event)

    def _shard_or_fail(self, shard_id: int) -> GatewayConnection:
        conn = self.shard_connection(shard_id)
        if conn is None:
            raise AssertionError(f"no gateway connection for shard {shard_id}")
        return conn

    async def drop(self, code: int | None = 4000, *, shard_id: int = 0) -> None:
        conn = self._shard_or_fail(shard_id)
        self._forget(conn)
        if code is None:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            return
        await conn.ws.close(code=code, message=b"Fake gateway dropped the connection.")

    async def send_op(self, op: int, data: object, *, shard_id: int = 0) -> None:
        conn = self._shard_or_fail(shard_id)
        if op in (OP_RECONNECT, OP_INVALID_SESSION):
            self._forget(conn)
            if op == OP_INVALID_SESSION and data is False and conn.session is not None:
                self.sessions.pop(conn.session.id, None)
        await conn.send(op, data)

    async def close_all(self) -> None:
        for ack in list(self._acks):
            ack.cancel()
        self.live.clear()
        for conn in list(self.connections):
            if not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"Fake Discord is shutting down.")
