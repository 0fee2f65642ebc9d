"""Buttons that survive restarts: the job id lives in the custom_id (discord.py DynamicItem).

Every button shares `JobButton`: it rebuilds itself from the custom_id, reaches the handlers
the composition root gave the bot, and turns any error into the member's message through
`errors.report`, the same path as the slash commands' tree."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

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
EXTEND_PREFIX = "reelbot:extend:"  # on a clip
EXTEND_JOINED_PREFIX = "reelbot:extendall:"  # on a chain's joined video (also its marker)

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


class ExtendHandlers(Protocol):
    """What the Extend buttons do (bot.discord_layer.extend.Extender)."""

    async def open(self, interaction: Interaction, job_id: str) -> None: ...


@runtime_checkable
class ExtendHost(Protocol):
    @property
    def extend(self) -> ExtendHandlers: ...


def _host(interaction: Interaction) -> ButtonHost:
    client = interaction.client
    if not isinstance(client, ButtonHost):  # pragma: no cover - the bot always is one
        raise TypeError(f"{type(client).__name__} holds no button handlers")
    return client


class JobButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_JOB):
    """A button about one job. Subclasses name their prefix, label and style as class
    arguments and implement `run`; the base class is never registered itself."""

    prefix: ClassVar[str]
    label: ClassVar[str]
    style: ClassVar[discord.ButtonStyle]
    emoji: ClassVar[str | None]

    def __init_subclass__(
        cls,
        *,
        prefix: str,
        label: str,
        style: discord.ButtonStyle,
        emoji: str | None = None,
    ) -> None:
        super().__init_subclass__(template=re.escape(prefix) + _JOB)
        cls.prefix, cls.label, cls.style, cls.emoji = prefix, label, style, emoji

    def __init__(self, job_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.label,
                emoji=self.emoji,
                style=self.style,
                custom_id=f"{self.prefix}{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(match["job"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            await self.run(interaction, _host(interaction))
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        raise NotImplementedError


class CancelButton(
    JobButton, prefix=CANCEL_PREFIX, label="Cancel", style=discord.ButtonStyle.secondary
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.actions.cancel(interaction, self.job_id)


class RerollButton(
    JobButton,
    prefix=REROLL_PREFIX,
    label="Re-roll",
    emoji="🎲",
    style=discord.ButtonStyle.primary,
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.actions.reroll(interaction, self.job_id)


class DeleteButton(
    JobButton, prefix=DELETE_PREFIX, label="Delete", style=discord.ButtonStyle.secondary
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.actions.delete(interaction, self.job_id)


class ApproveButton(
    JobButton, prefix=APPROVE_PREFIX, label="Approve", style=discord.ButtonStyle.success
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.review.approve(interaction, self.job_id)


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
        # Answered here rather than in on_error, so the modal is stopped either way.
        try:
            reason = str(self.reason.value or "").strip()
            await _host(interaction).review.reject(interaction, self.job_id, reason)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class RejectButton(
    JobButton, prefix=REJECT_PREFIX, label="Reject", style=discord.ButtonStyle.danger
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        if await host.review.check_moderator(interaction):
            await interaction.response.send_modal(RejectModal(self.job_id))


class ReleaseButton(
    JobButton,
    prefix=RELEASE_PREFIX,
    label="Post behind a spoiler",
    style=discord.ButtonStyle.success,
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.review.release(interaction, self.job_id)


class DiscardButton(
    JobButton, prefix=DISCARD_PREFIX, label="Discard", style=discord.ButtonStyle.danger
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.review.discard(interaction, self.job_id)


class ExtendButton(
    JobButton, prefix=EXTEND_PREFIX, label="Extend", emoji="⏩", style=discord.ButtonStyle.primary
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await _extender(interaction).open(interaction, self.job_id)


class JoinedExtendButton(
    JobButton,
    prefix=EXTEND_JOINED_PREFIX,
    label="Extend",
    emoji="⏩",
    style=discord.ButtonStyle.primary,
):
    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await _extender(interaction).open(interaction, self.job_id)


def _extender(interaction: Interaction) -> ExtendHandlers:
    client = interaction.client
    if not isinstance(client, ExtendHost):  # pragma: no cover - the bot always is one
        raise TypeError(f"{type(client).__name__} holds no Extend handler")
    return client.extend


def joined_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(JoinedExtendButton(job_id))
    return view


def status_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CancelButton(job_id))
    return view


def result_view(job_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job_id))
    view.add_item(ExtendButton(job_id))
    view.add_item(DeleteButton(job_id))
    return view


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


DYNAMIC_ITEMS: tuple[type[JobButton], ...] = (
    CancelButton,
    RerollButton,
    DeleteButton,
    ApproveButton,
    RejectButton,
    ReleaseButton,
    DiscardButton,
    ExtendButton,
    JoinedExtendButton,
)
