"""/reelbot usage (the server's use: a chart and a short table) and /reelbot failover."""

from __future__ import annotations

import io
import time
from decimal import Decimal
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core import bounded
from bot.core.guild import store as guild_store
from bot.core.i18n import ngettext, number, translate
from bot.core.usage import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS, Usage, render_usage_chart, usage
from bot.discord_layer.render import NO_PINGS
from bot.discord_layer.translator import tr
from bot.discord_layer.usage_text import cost_text
from providers import ProviderName

if TYPE_CHECKING:
    from bot.discord_layer.client import VideoBot


def _label(name: str) -> str:
    try:
        return ProviderName(name).label
    except ValueError:
        return name


def _money(amount: Decimal, locale: str) -> str:
    return number(locale, float(amount.quantize(Decimal("0.01"))))


def usage_embed(figures: Usage, locale: str) -> discord.Embed:
    """The table beside the chart: jobs, units, failures and refunds, estimated cost, top
    members (mentions; the reply pings no one)."""
    days = (figures.last_day - figures.first_day).days + 1
    embed = discord.Embed(
        title=ngettext(
            locale,
            "Usage over the last day",
            "Usage over the last {n} days",
            days,
            context="message",
        ),
        colour=discord.Colour.blurple(),
    )
    lines = [
        translate(locale, "Jobs: {jobs}", context="message", jobs=figures.jobs),
        translate(locale, "Units: {units}", context="message", units=figures.units),
        translate(locale, "Failures: {failures}", context="message", failures=figures.failures),
        translate(
            locale,
            "Refunds: {refunds} ({units})",
            context="message",
            refunds=figures.refunds,
            units=cost_text(figures.refunded_units, locale),
        ),
    ]
    embed.add_field(
        name=translate(locale, "Totals", context="message"), value="\n".join(lines), inline=True
    )
    per_provider = [
        f"{_label(p)}: {cost_text(n, locale)}"
        + (
            f" (≈ {_money(figures.estimated_cost[p], locale)})"
            if p in figures.estimated_cost
            else ""
        )
        for p, n in figures.by_provider.items()
    ]
    total = figures.total_cost
    if total is not None:
        per_provider.append(
            translate(
                locale, "Estimated cost: {cost}", context="message", cost=_money(total, locale)
            )
        )
    embed.add_field(
        name=translate(locale, "Per provider", context="message"),
        value="\n".join(per_provider)
        or translate(locale, "no use in this period", context="message"),
        inline=True,
    )
    top = [f"<@{user}>: {cost_text(n, locale)}" for user, n in figures.top_members]
    embed.add_field(
        name=translate(locale, "Top members", context="message"),
        value=bounded.bounded_join(top, sep="\n", limit=bounded.FIELD, locale=locale)
        if top
        else "-",
        inline=False,
    )
    embed.set_image(url="attachment://usage.png")
    return embed


@app_commands.command(name="usage", description=tr("command", "Use per day and provider"))
@app_commands.describe(days=tr("command", "Days back, 1-90 (default 30)"))
async def usage_command(
    interaction: discord.Interaction[VideoBot],
    days: app_commands.Range[int, MIN_DAYS, MAX_DAYS] = DEFAULT_DAYS,
) -> None:
    bot = interaction.client
    gid, locale, now = interaction.guild_id or 0, str(interaction.locale), time.time()
    prices = {name.value: price for name, price in bot.settings.prices_per_unit().items()}
    figures = await bot.db.run(lambda s: usage(s, guild_id=gid, days=days, now=now, prices=prices))
    png = await render_usage_chart(
        figures.rows,
        first_day=figures.first_day,
        last_day=figures.last_day,
        locale=locale,
    )
    await interaction.edit_original_response(
        embed=usage_embed(figures, locale),
        attachments=[discord.File(io.BytesIO(png), filename="usage.png")],
        allowed_mentions=NO_PINGS,
    )


@app_commands.command(
    name="failover",
    description=tr("command", "Use another provider if the default refuses"),
)
@app_commands.choices(
    state=[
        Choice(name=tr("choice", "on"), value="on"),
        Choice(name=tr("choice", "off"), value="off"),
    ]
)
@app_commands.describe(state=tr("command", "on or off"))
async def failover_command(interaction: discord.Interaction[VideoBot], state: str) -> None:
    bot = interaction.client
    gid, actor, now, locale = (
        interaction.guild_id or 0,
        interaction.user.id,
        time.time(),
        str(interaction.locale),
    )
    enabled = state == "on"
    await bot.db.run(
        lambda s: guild_store.update_config(
            session=s,
            guild_id=gid,
            actor_id=actor,
            now=now,
            note=f"failover {state}",
            failover=enabled,
        )
    )
    text = (
        translate(
            locale,
            "Failover is on: when the default provider refuses a job before creating it (key "
            "refused, out of credit, unreachable), it goes to another enabled provider.",
            context="message",
        )
        if enabled
        else translate(
            locale,
            "Failover is off: a job refused by its provider fails, with a refund.",
            context="message",
        )
    )
    await interaction.edit_original_response(content=text)
