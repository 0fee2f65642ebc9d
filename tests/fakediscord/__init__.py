"""A loopback fake Discord (REST + gateway) that the real, unmodified discord.py client talks to.

Usage (in-process)::

    async with FakeDiscord() as fake:
        guild = fake.add_guild(GUILD_ID)          # world building: before the bot connects
        guild.add_channel(CHANNEL_ID)
        with fake.patch_discord():
            task = asyncio.create_task(bot.start(fake.token))
            ...
            interaction = await fake.invoke("video", [...], guild_id=G, channel_id=C, user_id=U)
            await interaction.wait_acknowledged()

A subprocess bot is given ``fake.api_base`` and ``fake.gateway_url`` instead.

Behaviour worth knowing (all like Discord):

* the first callback must arrive within ``fake.ack_deadline`` (3 s; ``None`` disables) else
  404 code 10062; a second callback gets 400 code 40060;
* the first follow-up after a type 5 defer fills the "thinking" message (``original``);
* interaction webhooks ignore ``deny_channel``; channel routes honour it;
* message payloads are validated (2000 chars, embed limits, 5 rows x 5 buttons, custom_id
  1-100 and unique, empty message -> 50006); ``fake.validate = False`` turns that off;
* the bot's own non-ephemeral messages come back as MESSAGE_CREATE/UPDATE/DELETE when its
  intents ask for them (``fake.message_events = False`` turns that off);
* Discord's rate limits (``fake.rate_limits``, see ``_ratelimit``): ``X-RateLimit-*`` headers
  on every answer, message creates and edits sharing a bucket per channel (5 per 5 s), the
  global 50 requests/s (interaction endpoints exempt), 429 with ``retry_after``/``global`` and
  ``Via``; every 429 sent is in ``fake.rate_limits.hits``; ``enabled = False`` turns them off;
* shards (Discord docs topics/gateway "Sharding"): ``GET /gateway/bot`` answers
  ``fake.shard_count`` and the session start limit; IDENTIFY's ``shard`` is checked (4010
  Invalid shard; 4011 Sharding required past ``guilds_per_shard``); each shard's session gets
  only its guilds (``(guild_id >> 22) % num_shards``) and their events, DMs go to shard 0;
  identifies per bucket ``shard_id % max_concurrency`` are limited to one per
  ``identify_window`` (5 s) and answered op 9 beyond it; when two processes hold one shard
  (a rolling restart's overlap) events go to the newest session, or to the one a test
  names (``invoke(..., via=fake.gateway.holding(guild_id)[i])``);
* unknown routes answer 404 and bugs in the fake answer 400 (never a 500 that discord.py
  would retry for 25 s); they are listed in ``fake.internal_errors``.
"""

import warnings

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop module, deprecated since Python 3.11 (PEP 594).
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

from ._fake import DEFAULT_APPLICATION_ID, DEFAULT_BOT_USER_ID, DEFAULT_OWNER_ID, FakeDiscord
from ._ratelimit import Limit, RateLimitHit, RateLimits
from ._state import (
    ALL_PERMISSIONS,
    BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    ApiError,
    FakeFile,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    RecordedRequest,
)

__all__ = [
    "ALL_PERMISSIONS",
    "BOT_PERMISSIONS",
    "DEFAULT_APPLICATION_ID",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_MEMBER_PERMISSIONS",
    "DEFAULT_OWNER_ID",
    "FLAG_EPHEMERAL",
    "FLAG_LOADING",
    "ApiError",
    "FakeDiscord",
    "FakeFile",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "Limit",
    "RateLimitHit",
    "RateLimits",
    "RecordedRequest",
]
