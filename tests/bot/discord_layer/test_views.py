"""The buttons' shared base: each button's custom_id carries its job and is matched back to
the same button class after a restart, with the same face as before."""

from __future__ import annotations

import uuid
from typing import Any

import discord
import pytest

from bot.discord_layer.views import DYNAMIC_ITEMS, JobButton, result_view

FACES = {
    "CancelButton": ("Cancel", discord.ButtonStyle.secondary, None),
    "RerollButton": ("Re-roll", discord.ButtonStyle.primary, "🎲"),
    "DeleteButton": ("Delete", discord.ButtonStyle.secondary, None),
    "EditButton": ("Edit", discord.ButtonStyle.secondary, "✏️"),
    "ApproveButton": ("Approve", discord.ButtonStyle.success, None),
    "RejectButton": ("Reject", discord.ButtonStyle.danger, None),
    "ReleaseButton": ("Post behind a spoiler", discord.ButtonStyle.success, None),
    "DiscardButton": ("Discard", discord.ButtonStyle.danger, None),
    "ExtendButton": ("Extend", discord.ButtonStyle.primary, "⏩"),
    "JoinedExtendButton": ("Extend", discord.ButtonStyle.primary, "⏩"),
}


@pytest.mark.parametrize("button", DYNAMIC_ITEMS, ids=lambda b: b.__name__)
def test_a_button_is_found_again_by_its_custom_id_alone(button: type[JobButton]) -> None:
    job_id = uuid.uuid4().hex
    made = button(job_id)
    custom_id = made.item.custom_id
    assert custom_id is not None
    owners = [b for b in DYNAMIC_ITEMS if b.__discord_ui_compiled_template__.fullmatch(custom_id)]
    assert owners == [button]
    match = button.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None
    assert match["job"] == job_id


@pytest.mark.parametrize("button", DYNAMIC_ITEMS, ids=lambda b: b.__name__)
def test_a_button_shows_its_label_style_and_emoji(button: type[JobButton]) -> None:
    shown: dict[str, Any] = dict(button(uuid.uuid4().hex).item.to_component_dict())
    label, style, emoji = FACES[button.__name__]
    assert shown["label"] == label
    assert shown["style"] == style.value
    assert shown.get("emoji", {}).get("name") == emoji


@pytest.mark.parametrize(("locale", "label"), [("fr", "Modifier"), ("ja", "編集"), (None, "Edit")])
def test_the_edit_button_is_labelled_in_the_posts_language(locale: str | None, label: str) -> None:
    view = result_view(uuid.uuid4().hex, locale)
    shown = [c.to_component_dict() for c in view.children]
    [edit] = [c for c in shown if str(c.get("custom_id", "")).startswith("reelbot:edit:")]
    assert edit["label"] == label
