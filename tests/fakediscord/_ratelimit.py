"""Discord's rate limits, as the fake enforces them.

From Discord's developer documentation, topics/rate-limits:

* Limits are per route, and per top-level resource within a route: a route's "major
  parameters" (``channel_id``, ``guild_id``, ``webhook_id`` + ``webhook_token``) each get their
  own bucket. "Per-route rate limits may be shared across multiple, similar-use routes": a
  channel's message creates and edits share one bucket (the docs' example answer carries
  ``X-RateLimit-Limit: 5``; Discord's message bucket is 5 per 5 s per channel).
* Every answer carries ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (epoch seconds),
  ``-Reset-After`` (seconds, with decimals) and ``-Bucket`` (a hash naming the shared bucket).
* A request over a limit is answered ``429`` with a JSON body ``{"message", "retry_after",
  "global"}``, a ``Retry-After`` header and ``X-RateLimit-Scope`` (``user`` for a per-route
  limit, ``global`` for the global one, which also sends ``X-RateLimit-Global: true``).
* "All bots can make up to 50 requests per second to our API" (the global limit, per bot
  token), and "Interaction endpoints are not bound to the bot's Global Rate Limit"
  (callbacks and the interaction webhooks, which carry the interaction's token).

discord.py retries a 429 only when the answer has a ``Via`` header (Discord's answers come
through Google's front end, ``Via: 1.1 google``), so every answer here carries one.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass, field
from typing import Literal

JSON = dict[str, object]
Scope = Literal["user", "global"]

VIA = "1.1 google"
_MAJOR = re.compile(r"\{(channel_id|guild_id|webhook_id|token)[^}]*\}")


@dataclass(frozen=True, slots=True)
class Limit:
    """``limit`` requests per ``per`` seconds."""

    limit: int
    per: float


@dataclass(slots=True)
class _Window:
    limit: Limit
    reset_at: float = 0.0  # time.monotonic()
    remaining: int = 0

    def refresh(self, now: float) -> None:
        # A bucket's window opens with its first request and resets `per` seconds later.
        if now >= self.reset_at:
            self.reset_at = now + self.limit.per
            self.remaining = self.limit.limit

    def reset_after(self, now: float) -> float:
        return max(0.0, self.reset_at - now)


@dataclass(frozen=True, slots=True)
class RateLimitHit:
    """One 429 the fake sent."""

    scope: Scope
    method: str
    path: str
    bucket: str
    retry_after: float
    time: float


@dataclass(slots=True)
class Decision:
    """What the limiter says about one request: headers for its answer, or a 429."""

    headers: dict[str, str]
    refusal: JSON | None = None  # the 429 body when refused


def _round_up(seconds: float) -> float:
    """Discord gives times to the millisecond; rounding up never invites a request too early."""
    return math.ceil(seconds * 1000) / 1000


def _bucket_hash(name: str) -> str:
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:32]


@dataclass
class RateLimits:
    """The fake's rate limiter. Change the knobs at any time (tests use faster windows):

    * ``channel_messages``: the per-channel bucket that message creates and edits share
      (Discord: 5 per 5 s);
    * ``message_deletes``: the per-channel bucket of message deletes;
    * ``default_route``: every other route, per major parameter (Discord does not publish
      these; generous, so that only the documented limits shape a test);
    * ``global_limit``: requests per second per bot token, interaction endpoints exempt
      (Discord: 50);
    * ``enabled = False`` turns all of it off (no headers, no 429).

    Every 429 sent is in ``hits`` (``count()`` by scope)."""

    channel_messages: Limit = field(default_factory=lambda: Limit(5, 5.0))
    message_deletes: Limit = field(default_factory=lambda: Limit(5, 1.0))
    default_route: Limit = field(default_factory=lambda: Limit(50, 1.0))
    global_limit: int = 50
    enabled: bool = True
    hits: list[RateLimitHit] = field(default_factory=list)
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    _global: _Window | None = None

    def count(self, scope: Scope | None = None) -> int:
        return sum(1 for hit in self.hits if scope is None or hit.scope == scope)

    def reset(self) -> None:
        """Forget every bucket's state (the knobs and the record of 429s stay)."""
        self._windows.clear()
        self._global = None

    def _rule(self, method: str, template: str) -> tuple[str, Limit]:
        """The shared bucket's name and limit for a route (``template`` relative to /api/v10)."""
        if template == "/channels/{channel_id}/messages" and method == "POST":
            return "channel-messages", self.channel_messages
        if template == "/channels/{channel_id}/messages/{message_id}" and method == "PATCH":
            return "channel-messages", self.channel_messages
        if template == "/channels/{channel_id}/messages/{message_id}" and method == "DELETE":
            return "message-delete", self.message_deletes
        return f"{method} {template}", self.default_route

    def check(
        self, *, method: str, template: str, path: str, major: str, global_exempt: bool
    ) -> Decision:
        """Count one request to ``path`` (route ``template``, major parameter value ``major``)
        and say how to answer it."""
        if not self.enabled:
            return Decision(headers={})
        now = time.monotonic()
        name, limit = self._rule(method, template)
        bucket = _bucket_hash(name)
        window = self._windows.get((name, major))
        if window is None or window.limit != limit:
            window = self._windows[(name, major)] = _Window(limit)
        window.refresh(now)
        glob = None
        if not global_exempt:
            if self._global is None or self._global.limit.limit != self.global_limit:
                self._global = _Window(Limit(self.global_limit, 1.0))
            glob = self._global
            glob.refresh(now)
        if glob is not None and glob.remaining <= 0:
            return self._refuse("global", method, path, bucket, glob.reset_after(now), now)
        if window.remaining <= 0:
            decision = self._refuse("user", method, path, bucket, window.reset_after(now), now)
            decision.headers.update(self._headers(window, bucket, now))
            return decision
        window.remaining -= 1
        if glob is not None:
            glob.remaining -= 1
        return Decision(headers={"Via": VIA, **self._headers(window, bucket, now)})

    def _headers(self, window: _Window, bucket: str, now: float) -> dict[str, str]:
        reset_after = _round_up(window.reset_after(now))
        return {
            "X-RateLimit-Limit": str(window.limit.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    def _refuse(
        self, scope: Scope, method: str, path: str, bucket: str, wait: float, now: float
    ) -> Decision:
        retry_after = _round_up(max(wait, 0.001))
        self.hits.append(RateLimitHit(scope, method, path, bucket, retry_after, now))
        headers = {
            "Via": VIA,
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": scope,
        }
        if scope == "global":
            headers["X-RateLimit-Global"] = "true"
        body: JSON = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": scope == "global",
        }
        return Decision(headers=headers, refusal=body)


def major_parameter(template: str, match_info: dict[str, str]) -> str:
    """The values of the route's major parameters (a bucket exists per value)."""
    return ":".join(match_info[m.group(1)] for m in _MAJOR.finditer(template))
