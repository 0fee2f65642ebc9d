"""The typed bot: its dependencies are attributes, set once by the composition root."""

from __future__ import annotations

import gc
import logging
import time

import discord
from discord.ext import commands

from bot.core.db import Database
from bot.core.guild import store as guild_store
from bot.core.guild.models import GuildConfig
from bot.core.guild.policy import GuildRules, load_rules
from bot.core.jobs import store
from bot.core.jobs.models import Job
from bot.core.jobs.runner import JobRunner
from bot.core.jobs.store import QuotaPolicy, Usage
from bot.core.settings import Settings
from bot.discord_layer.actions import Actions
from bot.discord_layer.audit_channel import AuditForwarder
from bot.discord_layer.command_sync import sync_commands
from bot.discord_layer.errors import ReelbotTree
from bot.discord_layer.presenter import DiscordPresenter
from bot.discord_layer.review import Review
from bot.discord_layer.translator import CatalogueTranslator
from bot.discord_layer.views import DYNAMIC_ITEMS
from providers import Provider, ProviderName

log = logging.getLogger(__name__)

EXTENSIONS = ("commands.generate", "commands.account", "commands.admin")


class VideoBot(commands.Bot):
    settings: Settings
    db: Database
    providers: dict[ProviderName, Provider]
    provider_order: list[ProviderName]
    runner: JobRunner
    presenter: DiscordPresenter
    actions: Actions
    review: Review
    audit: AuditForwarder

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        providers: dict[ProviderName, Provider],
        runner: JobRunner,
        presenter: DiscordPresenter,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),  # no privileged intent is needed
            tree_cls=ReelbotTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.settings = settings
        self.db = db
        self.providers = providers
        self.provider_order = [n for n in settings.provider_order() if n in providers]
        self.runner = runner
        self.presenter = presenter
        self.actions = Actions(self)
        self.review = Review(self)
        self.audit = AuditForwarder(self)
        presenter.bind(self)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self.tree.set_translator(CatalogueTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        # Before any work starts: a sync problem is logged per server and never stops start-up.
        await sync_commands(self.tree, self.settings.discord_guild_ids)
        await self.runner.start()
        self.audit.start()
        # Everything built so far lives as long as the process: keep it out of the
        # collector's full passes, which took 100-150 ms with 500 jobs in flight.
        gc.freeze()

    async def on_ready(self) -> None:
        log.info("connected as %s to %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        """Stop accepting work, save state (leases released), then disconnect."""
        await self.runner.stop()
        await self.audit.stop()
        await self.presenter.close()
        await super().close()

    # --- small reads used by commands -----------------------------------------------------

    async def usage(
        self, *, guild_id: int | None, user_id: int, policy: QuotaPolicy | None = None
    ) -> Usage:
        now = time.time()
        policy = policy or self.runner.config.quota
        return await self.db.run(
            lambda s: store.usage(
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
