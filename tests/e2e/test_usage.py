"""/reelbot usage end to end: jobs run through the real bot and the simulators, then the
admin's private answer carries a real PNG chart and a table whose figures match the ledger
rows those jobs wrote; /jobs shows what each job cost."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from bot.core.jobs.models import JobState, LedgerKind
from bot.core.usage.chart import HEIGHT_PX, WIDTH_PX
from tests.e2e.harness import ADMIN, CHANNEL, GUILD, MEMBER, OTHER_MEMBER, World, world
from tests.fakediscord import FakeInteraction
from tests.providersim import JobScript


async def usage(w: World, days: int | None = None, *, locale: str = "en-US") -> FakeInteraction:
    options = [] if days is None else [{"name": "days", "type": 4, "value": days}]
    interaction = await w.fake.invoke(
        "reelbot",
        options,
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=ADMIN,
        subcommand=["usage"],
        locale=locale,
    )
    await w.fake.wait_for(
        lambda: interaction.original is not None and bool(interaction.original.files),
        timeout=20,
    )
    return interaction


def answered(interaction: FakeInteraction) -> bool:
    return interaction.original is not None and bool(interaction.original.embeds)


def fields(interaction: FakeInteraction) -> dict[str, Any]:
    assert interaction.original is not None
    [embed] = interaction.original.embeds
    return {f["name"]: f["value"] for f in embed["fields"]}


async def run_jobs(w: World) -> None:
    """Three jobs: RunComfy 10 s (2 units), WaveSpeed 5 s (1 unit), and a WaveSpeed job the
    provider fails (refunded)."""
    w.wavespeed.script(JobScript(run_seconds=5), JobScript(run_seconds=5, outcome="failed"))
    await w.reply(await w.video("ten seconds", provider="runcomfy", duration=10))
    await w.reply(await w.video("five seconds", provider="wavespeed"))
    await w.wait_for_state(JobState.DELIVERED, JobState.FAILED, count=2, timeout=30)
    await w.reply(await w.video("this one fails", user=OTHER_MEMBER, provider="wavespeed"))
    await w.wait_for_state(JobState.DELIVERED, JobState.FAILED, count=3, timeout=30)


async def test_usage_shows_a_png_chart_and_the_ledgers_figures(tmp_path: Path) -> None:
    async with world(
        tmp_path, runcomfy_price_per_unit="0.40", wavespeed_price_per_unit="0.25"
    ) as w:
        await w.start_bot()
        await run_jobs(w)
        ledger = w.ledger()
        reserved = [e for e in ledger if e.kind is LedgerKind.RESERVE]
        refunds = [e for e in ledger if e.kind is LedgerKind.REFUND]
        net = sum(e.amount for e in ledger)

        answer = await usage(w, 7)

        original = answer.original
        assert original is not None and original.ephemeral
        [chart] = original.files
        image = Image.open(io.BytesIO(chart.data))
        image.load()  # every pixel decodes
        assert image.format == "PNG" and image.size == (WIDTH_PX, HEIGHT_PX)
        table = fields(answer)
        assert table["Totals"].splitlines() == [
            f"Jobs: {len(reserved)}",
            f"Units: {net}",
            "Failures: 1",
            f"Refunds: {len(refunds)} (1 unit)",
        ]
        assert (len(reserved), net, len(refunds)) == (3, 3, 1)
        assert table["Per provider"].splitlines() == [
            "RunComfy: 2 units (≈ 0.8)",
            "WaveSpeed: 1 unit (≈ 0.25)",
            "Estimated cost: 1.05",
        ]
        assert table["Top members"] == f"<@{MEMBER}>: 3 units"  # the refunded member used 0
        # Mentions in the answer never ping.
        assert original.allowed_mentions == {"parse": []}
        assert original.embeds[0]["image"]["url"] == "attachment://usage.png"


async def test_usage_defaults_to_30_days_and_speaks_the_admins_language(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        answer = await usage(w, locale="fr")
        assert answer.original is not None
        assert answer.original.embeds[0]["title"] == "Utilisation sur les 30 derniers jours"
        table = fields(answer)
        assert table["Totaux"].splitlines()[0] == "Tâches : 0"
        assert table["Par fournisseur"] == "aucune utilisation sur cette période"


async def test_days_outside_1_to_90_are_refused_by_discord(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        [command] = [c for c in w.fake.registered_guild_commands[GUILD] if c["name"] == "reelbot"]
        [sub] = [o for o in command["options"] if o["name"] == "usage"]
        [days] = sub["options"]
        assert (days["min_value"], days["max_value"], days["required"]) == (1, 90, False)


async def test_jobs_shows_what_each_job_cost(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await run_jobs(w)
        mine = await w.fake.invoke("jobs", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
        theirs = await w.fake.invoke(
            "jobs", [], guild_id=GUILD, channel_id=CHANNEL, user_id=OTHER_MEMBER
        )
        await w.fake.wait_for(lambda: answered(mine) and answered(theirs), timeout=10)
        assert mine.original is not None and theirs.original is not None
        values = [f["value"] for f in mine.original.embeds[0]["fields"]]
        assert any("ten seconds" in v and "· 2 units ·" in v for v in values), values
        assert any("five seconds" in v and "· 1 unit ·" in v for v in values), values
        [failed] = [f["value"] for f in theirs.original.embeds[0]["fields"]]
        assert "· 0 units ·" in failed  # refunded
