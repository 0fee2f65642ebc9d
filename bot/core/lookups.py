"""Small reads the Discord layer shows members: their usage, a server's rules and
configuration, one job. Each runs in the database's worker thread."""

from __future__ import annotations

import time

from bot.core import quotas
from bot.core.db import Database
from bot.core.guild import store as guild_store
from bot.core.guild.models import GuildConfig
from bot.core.guild.policy import GuildRules, load_rules
from bot.core.jobs import store
from bot.core.jobs.models import Job
from bot.core.quotas import QuotaPolicy, Usage


class Lookups:
    def __init__(self, *, db: Database, quota: QuotaPolicy) -> None:
        self.db = db
        self.quota = quota

    async def usage(
        self, *, guild_id: int | None, user_id: int, policy: QuotaPolicy | None = None
    ) -> Usage:
        now = time.time()
        policy = policy or self.quota
        return await self.db.run(
            lambda s: quotas.usage(
                session=s, guild_id=guild_id, user_id=user_id, policy=policy, now=now
            )
        )

    async def guild_rules(self, guild_id: int | None, user_id: int) -> GuildRules:
        gid = guild_id or 0
        return await self.db.run(lambda s: load_rules(s, guild_id=gid, user_id=user_id))

    async def guild_config(self, guild_id: int | None) -> GuildConfig:
        gid = guild_id or 0
        return await self.db.run(lambda s: guild_store.config(session=s, guild_id=gid))

    async def job(self, job_id: str) -> Job | None:
        return await self.db.run(lambda s: store.get(session=s, job_id=job_id))
