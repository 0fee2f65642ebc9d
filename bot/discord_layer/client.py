"""The typed bot: its dependencies are attributes, built by the composition root
(`bot.app`) and handed in; it builds none of them."""

from __future__ import annotations

import gc
import logging

import aiohttp
import discord
from discord.ext import commands

from bot.core.db import Database
from bot.core.jobs.runner import JobRunner
from bot.core.lookups import Lookups
from bot.core.settings import Settings
from bot.discord_layer.acks import AcksFirst
from bot.discord_layer.actions import Actions
from bot.discord_layer.audit_channel import AuditForwarder
from bot.discord_layer.command_sync import sync_commands_once
from bot.discord_layer.errors import ReelbotTree
from bot.discord_layer.extend import Extender
from bot.discord_layer.presenter import DiscordPresenter
from bot.discord_layer.review import Review
from bot.discord_layer.translator import CatalogueTranslator
from bot.discord_layer.views import DYNAMIC_ITEMS
from providers import Provider, ProviderName

log = logging.getLogger(__name__)

# The collector's thresholds once start-up is done: generation 0 is collected after 20,000 net
# allocations rather than 700, so the younger passes run about a thirtieth as often, and with the
# start-up objects frozen a full pass walks only what the jobs in flight hold. With the defaults,
# 2,450 jobs in flight triggered 16 full passes in 30 s, 3.5 s of stalls in all, the longest
# 254 ms (benchmarks/REPORT.md, bot_load).
GC_THRESHOLDS = (20_000, 10, 100)

EXTENSIONS = (
    "commands.generate",
    "commands.account",
    "commands.admin",
    "commands.settings",
    "commands.animate_menu",
)


class VideoBot(commands.AutoShardedBot):
    settings: Settings
    db: Database
    providers: dict[ProviderName, Provider]
    provider_order: list[ProviderName]
    runner: JobRunner
    lookups: Lookups
    presenter: DiscordPresenter
    actions: Actions
    review: Review
    audit: AuditForwarder
    extend: Extender

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        providers: dict[ProviderName, Provider],
        provider_order: list[ProviderName],
        runner: JobRunner,
        lookups: Lookups,
        presenter: DiscordPresenter,
        actions: Actions,
        review: Review,
        audit: AuditForwarder,
        extend: Extender,
        http_trace: aiohttp.TraceConfig | None = None,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),  # no privileged intent is needed
            tree_cls=ReelbotTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=settings.discord_shard_count,  # None: ask Discord (GET /gateway/bot)
            http_trace=http_trace or aiohttp.TraceConfig(),  # counts Discord's 429s
            # No message cache: nothing here reads it, and keeping one made every status edit's
            # MESSAGE_UPDATE search the last 1,000 messages (benchmarks/REPORT.md, bot_load).
            max_messages=None,
        )
        self.shard_ids = settings.discord_shard_ids  # None: every shard in this process
        self.acks = AcksFirst()
        self.settings = settings
        self.db = db
        self.providers = providers
        self.provider_order = provider_order
        self.runner = runner
        self.lookups = lookups
        self.presenter = presenter
        self.actions = actions
        self.review = review
        self.audit = audit
        self.extend = extend

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self.tree.set_translator(CatalogueTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        # Before any work starts: a sync problem is logged per server and never stops start-up.
        await sync_commands_once(self.tree, self.settings)
        await self.runner.start()
        self.audit.start()
        # Everything built so far lives as long as the process: keep it out of the
        # collector's full passes, which took 100-150 ms with 500 jobs in flight.
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    async def on_app_command_completion(
        self, interaction: discord.Interaction[discord.Client], _command: object
    ) -> None:
        self.acks.answered(interaction.id)

    async def on_ready(self) -> None:
        log.info("connected as %s to %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        """Stop accepting work, save state (leases released), then disconnect."""
        await self.runner.stop()
        await self.audit.stop()
        await self.presenter.close()
        await self.extend.close()
        await super().close()
