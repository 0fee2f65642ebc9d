"""Buttons that survive restarts: the job id lives in the custom_id (discord.py DynamicItem)."""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

import discord

from bot.discord_layer.errors import report
from bot.discord_layer.render import (
    APPROVE_PREFIX,
    CANCEL_PREFIX,
    DELETE_PREFIX,
    DISCARD_PREFIX,
    REJECT_PREFIX,
    RELEASE_PREFIX,
    REROLL_PREFIX,
)

_JOB = r"(?P<job>[0-9a-f]{32})"

Interaction = discord.Interaction[discord.Client]


class MemberHandlers(Protocol):
    """What the members' buttons do (bot.discord_layer.actions.Actions)."""

    async def cancel(self, interaction: Interaction, job_id: str) -> None: ...
    async def reroll(self, interaction: Interaction, job_id: str) -> None: ...
    async def delete(self, interaction: Interaction, job_id: str) -> None: ...


class ModeratorHandlers(Protocol):
    """What the moderators' buttons do (bot.discord_layer.review.Review)."""

    async def check_moderator(self, interaction: Interaction) -> bool: ...
    async def approve(self, interaction: Interaction, job_id: str) -> None: ...
    async def reject(self, interaction: Interaction, job_id: str, reason: str) -> None: ...
    async def release(self, interaction: Interaction, job_id: str) -> None: ...
    async def discard(self, interaction: Interaction, job_id: str) -> None: ...


@runtime_checkable
class ButtonHost(Protocol):
    """The client a button's interaction arrives on: the bot, holding the handlers."""

    @property
    def actions(self) -> MemberHandlers: ...
    @property
    def review(self) -> ModeratorHandlers: ...


def _host(interaction: Interaction) -> ButtonHost:
    client = interaction.client
    if not isinstance(client, ButtonHost):  # pragma: no cover - the bot always is one
        raise TypeError(f"{type(client).__name__} holds no button handlers")
    return client


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

    async def callback(self, interaction: Interaction) -> None:
        try:
            await _host(interaction).actions.cancel(interaction, self.job_id)
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

    async def callback(self, interaction: Interaction) -> None:
        try:
            await _host(interaction).actions.reroll(interaction, self.job_id)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


def status_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view


def result_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id))
    view.add_item(DeleteButton(job_id))
    return view


def _button(
    prefix: str, job_id: str, label: str, style: discord.ButtonStyle
) -> discord.ui.Button[Any]:
    return discord.ui.Button(label=label, style=style, custom_id=f"{prefix}{job_id}")


class DeleteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(DELETE_PREFIX) + _JOB
):
    def __init__(self, job_id: str) -> None:
        super().__init__(_button(DELETE_PREFIX, job_id, "Delete", discord.ButtonStyle.secondary))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> DeleteButton:
        return cls(match["job"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            await _host(interaction).actions.delete(interaction, self.job_id)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class ApproveButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(APPROVE_PREFIX) + _JOB
):
    def __init__(self, job_id: str) -> None:
        super().__init__(_button(APPROVE_PREFIX, job_id, "Approve", discord.ButtonStyle.success))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ApproveButton:
        return cls(match["job"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            await _host(interaction).review.approve(interaction, self.job_id)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class RejectModal(discord.ui.Modal, title="Reject this request"):
    reason: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Reason (shown to the member)",
        custom_id="reelbot-reject-reason",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=300,
    )

    def __init__(self, job_id: str) -> None:
        super().__init__(timeout=900)
        self.job_id = job_id

    async def on_submit(self, interaction: Interaction) -> None:
        try:
            await _host(interaction).review.reject(
                interaction, self.job_id, str(self.reason.value or "").strip()
            )
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class RejectButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(REJECT_PREFIX) + _JOB
):
    def __init__(self, job_id: str) -> None:
        super().__init__(_button(REJECT_PREFIX, job_id, "Reject", discord.ButtonStyle.danger))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RejectButton:
        return cls(match["job"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            review = _host(interaction).review
            if await review.check_moderator(interaction):
                await interaction.response.send_modal(RejectModal(self.job_id))
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class ReleaseButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(RELEASE_PREFIX) + _JOB
):
    def __init__(self, job_id: str) -> None:
        super().__init__(
            _button(RELEASE_PREFIX, job_id, "Post behind a spoiler", discord.ButtonStyle.success)
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReleaseButton:
        return cls(match["job"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            await _host(interaction).review.release(interaction, self.job_id)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class DiscardButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(DISCARD_PREFIX) + _JOB
):
    def __init__(self, job_id: str) -> None:
        super().__init__(_button(DISCARD_PREFIX, job_id, "Discard", discord.ButtonStyle.danger))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> DiscardButton:
        return cls(match["job"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            await _host(interaction).review.discard(interaction, self.job_id)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


def review_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ApproveButton(job_id))
    view.add_item(RejectButton(job_id))
    return view


def held_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ReleaseButton(job_id))
    view.add_item(DiscardButton(job_id))
    return view


DYNAMIC_ITEMS = (
    CancelButton,
    RerollButton,
    DeleteButton,
    ApproveButton,
    RejectButton,
    ReleaseButton,
    DiscardButton,
)
