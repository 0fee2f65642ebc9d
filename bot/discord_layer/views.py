"""Buttons that survive restarts: the job id lives in the custom_id (discord.py DynamicItem).

Every button shares `JobButton`: it rebuilds itself from the custom_id, reaches the handlers
the composition root gave the bot, and turns any error into the member's message through
`errors.report`, the same path as the slash commands' tree.

Labels are in the language of the message they sit on (the job's public language); a button
rebuilt from its custom_id after a restart only dispatches the click, so its label does not
matter there."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import discord

from bot.core.i18n import translate
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
EDIT_PREFIX = "reelbot:edit:"
EXTEND_PREFIX = "reelbot:extend:"  # on a clip
EXTEND_JOINED_PREFIX = "reelbot:extendall:"  # on a chain's joined video (also its marker)

Interaction = discord.Interaction[discord.Client]


class MemberHandlers(Protocol):
    """What the members' buttons do (bot.discord_layer.actions.Actions)."""

    async def cancel(self, interaction: Interaction, job_id: str) -> None: ...
    async def reroll(self, interaction: Interaction, job_id: str) -> None: ...
    async def delete(self, interaction: Interaction, job_id: str) -> None: ...
    async def open_edit(self, interaction: Interaction, job_id: str) -> None: ...


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
    """A button about one job. Subclasses name their prefix and style as class arguments,
    word their label in `label`, and implement `run`; the base class is never registered
    itself."""

    prefix: ClassVar[str]
    style: ClassVar[discord.ButtonStyle]
    emoji: ClassVar[str | None]

    def __init_subclass__(
        cls,
        *,
        prefix: str,
        style: discord.ButtonStyle,
        emoji: str | None = None,
    ) -> None:
        super().__init_subclass__(template=re.escape(prefix) + _JOB)
        cls.prefix, cls.style, cls.emoji = prefix, style, emoji

    @staticmethod
    def label(locale: str | None) -> str:
        raise NotImplementedError

    def __init__(self, job_id: str, locale: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=self.label(locale),
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


class CancelButton(JobButton, prefix=CANCEL_PREFIX, style=discord.ButtonStyle.secondary):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Cancel", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.actions.cancel(interaction, self.job_id)


class RerollButton(
    JobButton,
    prefix=REROLL_PREFIX,
    emoji="🎲",
    style=discord.ButtonStyle.primary,
):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Re-roll", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.actions.reroll(interaction, self.job_id)


class EditButton(JobButton, prefix=EDIT_PREFIX, emoji="✏️", style=discord.ButtonStyle.secondary):
    """Opens the Edit form (`bot.discord_layer.edit`)."""

    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Edit", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.actions.open_edit(interaction, self.job_id)


class DeleteButton(JobButton, prefix=DELETE_PREFIX, style=discord.ButtonStyle.secondary):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Delete", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.actions.delete(interaction, self.job_id)


class ApproveButton(JobButton, prefix=APPROVE_PREFIX, style=discord.ButtonStyle.success):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Approve", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.review.approve(interaction, self.job_id)


class RejectModal(discord.ui.Modal, title="Reject this request"):
    """Worded in the language of the moderator who opens it."""

    def __init__(self, job_id: str, locale: str | None = None) -> None:
        super().__init__(
            title=translate(locale, "Reject this request", context="modal_title"), timeout=900
        )
        self.reason: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=translate(locale, "Reason (shown to the member)", context="input_label"),
            placeholder=translate(
                locale, "Optional: why it is not approved", context="input_placeholder"
            ),
            custom_id="reelbot-reject-reason",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=300,
        )
        self.add_item(self.reason)
        self.job_id = job_id

    async def on_submit(self, interaction: Interaction) -> None:
        # Answered here rather than in on_error, so the modal is stopped either way.
        try:
            reason = str(self.reason.value or "").strip()
            await _host(interaction).review.reject(interaction, self.job_id, reason)
        except Exception as error:  # noqa: BLE001 - every error gets a reply
            await report(interaction, error)


class RejectButton(JobButton, prefix=REJECT_PREFIX, style=discord.ButtonStyle.danger):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Reject", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        if await host.review.check_moderator(interaction):
            await interaction.response.send_modal(
                RejectModal(self.job_id, interaction.locale.value)
            )


class ReleaseButton(
    JobButton,
    prefix=RELEASE_PREFIX,
    style=discord.ButtonStyle.success,
):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Post behind a spoiler", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.review.release(interaction, self.job_id)


class DiscardButton(JobButton, prefix=DISCARD_PREFIX, style=discord.ButtonStyle.danger):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Discard", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await host.review.discard(interaction, self.job_id)


class ExtendButton(JobButton, prefix=EXTEND_PREFIX, emoji="⏩", style=discord.ButtonStyle.primary):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Extend", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await _extender(interaction).open(interaction, self.job_id)


class JoinedExtendButton(
    JobButton, prefix=EXTEND_JOINED_PREFIX, emoji="⏩", style=discord.ButtonStyle.primary
):
    @staticmethod
    def label(locale: str | None) -> str:
        return translate(locale, "Extend", context="button")

    async def run(self, interaction: Interaction, host: ButtonHost) -> None:
        await _extender(interaction).open(interaction, self.job_id)


def _extender(interaction: Interaction) -> ExtendHandlers:
    client = interaction.client
    if not isinstance(client, ExtendHost):  # pragma: no cover - the bot always is one
        raise TypeError(f"{type(client).__name__} holds no Extend handler")
    return client.extend


def _view(job_id: str, locale: str | None, *buttons: type[JobButton]) -> discord.ui.View:
    """The buttons of a job's public message, labelled in `locale` (the job's public one)."""
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(button(job_id, locale))
    return view


def status_view(job_id: str, locale: str | None = None) -> discord.ui.View:
    return _view(job_id, locale, CancelButton)


def result_view(job_id: str, locale: str | None = None) -> discord.ui.View:
    return _view(job_id, locale, RerollButton, EditButton, ExtendButton, DeleteButton)


def joined_view(job_id: str, locale: str | None = None) -> discord.ui.View:
    return _view(job_id, locale, JoinedExtendButton)


def review_view(job_id: str, locale: str | None = None) -> discord.ui.View:
    return _view(job_id, locale, ApproveButton, RejectButton)


def held_view(job_id: str, locale: str | None = None) -> discord.ui.View:
    return _view(job_id, locale, ReleaseButton, DiscardButton)


DYNAMIC_ITEMS: tuple[type[JobButton], ...] = (
    CancelButton,
    RerollButton,
    EditButton,
    ExtendButton,
    JoinedExtendButton,
    DeleteButton,
    ApproveButton,
    RejectButton,
    ReleaseButton,
    DiscardButton,
)
