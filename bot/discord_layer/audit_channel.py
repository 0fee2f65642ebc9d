"""Forwarding the audit log to each server's audit channel, from the database, so nothing is
lost across restarts: entries are marked forwarded once posted (or when no channel is set).
The posts speak the server's language: the one chosen with /reelbot language, else the
server's preferred locale."""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.core import audit as store
from bot.core.audit import AuditAction, AuditEntry
from bot.core.db import Database
from bot.core.exclusive import one_process_at_a_time
from bot.core.i18n import ngettext, translate
from bot.core.jobs.reasons import shown as reason_shown
from bot.core.lookups import Lookups
from bot.discord_layer.channels import ChannelGetter
from bot.discord_layer.render import NO_PINGS, safe_text

log = logging.getLogger(__name__)

# The key of the advisory lock that lets one process at a time forward (any bigint of ours).
FORWARD_LOCK_KEY = 0x5EE1_A0D1

_ICONS = {
    AuditAction.ACCEPTED: "🟢",
    AuditAction.REFUSED: "⛔",
    AuditAction.HELD: "🛡️",
    AuditAction.APPROVED: "✅",
    AuditAction.REJECTED: "🚫",
    AuditAction.CANCELLED: "↩️",
    AuditAction.DELIVERED: "🎬",
    AuditAction.FAILED: "❌",
    AuditAction.UNKNOWN: "❔",
    AuditAction.DELETED: "🗑️",
    AuditAction.SETTINGS: "⚙️",
    AuditAction.QUOTA: "🎟️",
    AuditAction.FAILOVER: "↪️",
}


def action_name(locale: str | None, action: AuditAction) -> str:
    match action:
        case AuditAction.ACCEPTED:
            return translate(locale, "accepted", context="content")
        case AuditAction.REFUSED:
            return translate(locale, "refused", context="content")
        case AuditAction.HELD:
            return translate(locale, "held", context="content")
        case AuditAction.APPROVED:
            return translate(locale, "approved", context="content")
        case AuditAction.REJECTED:
            return translate(locale, "rejected", context="content")
        case AuditAction.CANCELLED:
            return translate(locale, "cancelled", context="content")
        case AuditAction.DELIVERED:
            return translate(locale, "delivered", context="content")
        case AuditAction.FAILED:
            return translate(locale, "failed", context="content")
        case AuditAction.UNKNOWN:
            return translate(locale, "unknown", context="content")
        case AuditAction.DELETED:
            return translate(locale, "deleted", context="content")
        case AuditAction.SETTINGS:
            return translate(locale, "settings", context="content")
        case AuditAction.QUOTA:
            return translate(locale, "quota", context="content")
        case AuditAction.FAILOVER:
            return translate(locale, "sent to another provider", context="content")


def describe(entry: AuditEntry, locale: str | None = None) -> str:
    """One line per entry, for the audit channel and /reelbot audit, in `locale`'s language
    (what members wrote, and settings notes, as they are)."""
    icon, action = _ICONS.get(entry.action, "•"), action_name(locale, entry.action)
    parts = [f"{icon} **{action}** <t:{int(entry.at)}:f>"]
    if entry.user_id:
        parts.append(
            translate(locale, "member {mention}", context="content", mention=f"<@{entry.user_id}>")
        )
    if entry.moderator_id:
        parts.append(
            translate(locale, "by {mention}", context="content", mention=f"<@{entry.moderator_id}>")
        )
    if entry.provider:
        parts.append(entry.provider)
    if entry.cost is not None:
        parts.append(ngettext(locale, "{n} unit", "{n} units", entry.cost, context="content"))
    line = " · ".join(parts)
    if entry.options:
        line += f"\n{_one_line(entry.options, 120)}"
    if entry.prompt:
        line += f"\n> {_one_line(entry.prompt, 200)}"
    if entry.reason:
        reason = _one_line(reason_shown(locale, entry.reason), 300)
        line += "\n" + translate(locale, "reason: {reason}", context="content", reason=reason)
    if entry.job_id:
        line += "\n`" + translate(locale, "job {job_id}", context="content", job_id=entry.job_id)
        line += "`"
    return line


def _one_line(text: str, limit: int) -> str:
    """User text on one line, so it cannot fake further entries."""
    return safe_text(" ".join(text.split()), limit)


class AuditForwarder:
    def __init__(
        self, *, db: Database, lookups: Lookups, channels: ChannelGetter, interval: float = 2.0
    ) -> None:
        self.db = db
        self.lookups = lookups
        self.channels = channels
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="reelbot-audit")
        self._task.add_done_callback(self._died)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _died(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("audit forwarder died", exc_info=task.exception())

    async def _loop(self) -> None:
        while True:
            try:
                await self.forward_once()
            except Exception:  # keep forwarding; the entries stay unforwarded
                log.exception("audit forwarding failed; will retry")
            await asyncio.sleep(self.interval)

    async def forward_once(self) -> int:
        """Post the oldest unforwarded entries. One process at a time forwards, so with
        several processes on one database each entry is posted once; the others skip."""
        async with one_process_at_a_time(self.db, key=FORWARD_LOCK_KEY) as mine:
            if not mine:
                return 0
            return await self._forward()

    async def _forward(self) -> int:
        entries = await self.db.run(lambda s: store.unforwarded(session=s, limit=50))
        done: list[int] = []
        for entry in entries:
            config = await self.lookups.guild_config(entry.guild_id)
            if config.audit_channel_id is not None:
                channel = self.channels.get(config.audit_channel_id, guild_id=entry.guild_id)
                locale = config.locale or self.channels.preferred_locale(entry.guild_id)
                try:
                    await channel.send(describe(entry, locale)[:2000], allowed_mentions=NO_PINGS)
                except discord.Forbidden:
                    log.warning("audit channel %s refuses posts", config.audit_channel_id)
                except discord.HTTPException as error:
                    log.warning("audit post failed (%s); will retry", error.status)
                    break
            if entry.id is not None:
                done.append(entry.id)
        ids = done
        await self.db.run(lambda s: store.mark_forwarded(session=s, entry_ids=ids))
        return len(done)
