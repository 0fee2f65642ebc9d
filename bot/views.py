"""Buttons that survive restarts: the job id lives in the custom_id (discord.py DynamicItem)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import report
from bot.render import CANCEL_PREFIX, REROLL_PREFIX

if TYPE_CHECKING:
    from bot.client import VideoBot

_JOB = r"(?P<job>[0-9a-f]{32})"


class CancelButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(CANCEL_PREFIX) + _JOB
):
    def __init__(self, job_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{CANCEL_PREFIX}{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CancelButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction[VideoBot]) -> None:  # type: ignore[override]
        try:
            await interaction.client.actions.cancel(interaction, self.job_id)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class RerollButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(REROLL_PREFIX) + _JOB
):
    def __init__(self, job_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Re-roll",
                emoji="🎲",
                style=discord.ButtonStyle.primary,
                custom_id=f"{REROLL_PREFIX}{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RerollButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction[VideoBot]) -> None:  # type: ignore[override]
        try:
            await interaction.client.actions.reroll(interaction, self.job_id)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


def status_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view


def result_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id))
    return view
