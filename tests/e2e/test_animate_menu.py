"""The "Animate" message command end to end: synced as a type 3 command, a modal for the
prompt, then an image-to-video job from the message's own image (the provider gets that
image), with the same checks as /animate; a message without an image is refused, free."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.i18n import translate
from bot.core.jobs.models import JobState
from commands.animate_menu import MODAL_LIMIT
from tests.e2e.harness import CHANNEL, GUILD, MEMBER, OTHER_MEMBER, World, jpeg, png, world
from tests.fakediscord import FakeInteraction, FakeMessage


def image_post(
    w: World, data: bytes, *, filename: str = "photo.png", kind: str = "image/png"
) -> FakeMessage:
    """Another member's message with an image attached."""
    attachment = w.fake.add_attachment(data, filename=filename, content_type=kind, ephemeral=False)
    return w.fake.member_post(
        CHANNEL, user_id=OTHER_MEMBER, content="look", attachments=[attachment]
    )


async def animate(
    w: World, message: FakeMessage, prompt: str = "the waves roll in"
) -> FakeInteraction:
    """Use Animate on the message and submit the modal with a prompt; the modal's answer."""
    menu = await w.fake.invoke_message_command("Animate", message, user_id=MEMBER)
    await w.fake.wait_for(lambda: menu.modal is not None or menu.original is not None)
    assert menu.modal is not None, menu.original
    [field] = [c for c in _inputs(menu.modal)]
    return await w.fake.submit_modal(menu, {field["custom_id"]: prompt})


def _inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for row in modal.get("components") or []:
        inner = row.get("components") or ([row["component"]] if "component" in row else [])
        found += [c for c in inner if c.get("type") == 4]
    return found


async def provider_image(w: World) -> tuple[dict[str, Any], bytes]:
    """The submit's body, and the bytes at the image URL it names."""
    await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING, JobState.DELIVERED)
    [submit] = w.runcomfy.submits()
    body: dict[str, Any] = submit.json
    async with httpx.AsyncClient() as client:
        answer = await client.get(body["image_urls"][0])
    assert answer.status_code == 200
    return body, answer.content


async def test_the_menu_is_synced_as_a_message_command(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.fake.wait_for(lambda: bool(w.fake.registered_guild_commands.get(GUILD)))
        commands = {(c["name"], c.get("type", 1)) for c in w.fake.registered_guild_commands[GUILD]}
        assert ("Animate", 3) in commands
        assert {("settings", 1), ("channel-defaults", 1), ("reelbot", 1)} <= commands


async def test_animate_makes_a_video_from_the_attached_image(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        image = png(800, 600)
        submitted = await animate(w, image_post(w, image), "the waves roll in")
        assert "on its way" in await w.reply(submitted)
        body, sent = await provider_image(w)
        assert sent == image and body["prompt"] == "the waves roll in"
        [job] = w.jobs()
        assert (job.mode, job.user_id, job.channel_id) == ("image", MEMBER, CHANNEL)
        assert w.charged(MEMBER) == 1 and w.charged(OTHER_MEMBER) == 0


async def test_animate_makes_a_video_from_an_embedded_image(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        image = jpeg(640, 480)
        # A link to an image unfurls as an embed whose picture Discord serves from its media
        # proxy (resources/message, "Embed Object": thumbnail.proxy_url).
        proxied = w.fake.add_attachment(
            image, filename="sea.jpg", content_type="image/jpeg", ephemeral=False
        )
        embed = {
            "type": "image",
            "url": "https://example.com/sea.jpg",
            "thumbnail": {
                "url": "https://example.com/sea.jpg",
                "proxy_url": proxied["url"],
                "width": 640,
                "height": 480,
            },
        }
        message = w.fake.member_post(
            CHANNEL, user_id=OTHER_MEMBER, content="https://example.com/sea.jpg", embeds=[embed]
        )
        assert "on its way" in await w.reply(await animate(w, message))
        _, sent = await provider_image(w)
        assert sent == image


async def test_a_message_without_an_image_is_refused_and_costs_nothing(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        text_only = w.fake.member_post(CHANNEL, user_id=OTHER_MEMBER, content="just words")
        menu = await w.fake.invoke_message_command("Animate", text_only, user_id=MEMBER)
        await w.fake.wait_for(lambda: menu.original is not None and bool(menu.original.content))
        assert menu.modal is None
        assert menu.original is not None and menu.original.ephemeral
        assert "no image to animate" in (menu.original.content or "")
        assert w.jobs() == [] and w.ledger() == [] and w.runcomfy.submits() == []


async def test_a_document_attachment_is_not_an_image(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        attachment = w.fake.add_attachment(
            b"%PDF-1.7", filename="notes.pdf", content_type="application/pdf", ephemeral=False
        )
        message = w.fake.member_post(CHANNEL, user_id=OTHER_MEMBER, attachments=[attachment])
        menu = await w.fake.invoke_message_command("Animate", message, user_id=MEMBER)
        await w.fake.wait_for(lambda: menu.original is not None and bool(menu.original.content))
        assert menu.original is not None and "no image to animate" in (menu.original.content or "")
        assert w.jobs() == []


async def test_an_image_animate_refuses_is_refused_here_too(tmp_path: Path) -> None:
    """The same checks as /animate: a 100x100 picture is too small, said before any charge."""
    async with world(tmp_path) as w:
        await w.start_bot()
        reply = await w.reply(await animate(w, image_post(w, png(100, 100))))
        assert "320" in reply, reply
        assert w.jobs() == [] and w.ledger() == [] and w.runcomfy.submits() == []


async def test_the_modal_speaks_the_members_language(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        message = image_post(w, png(800, 600))
        menu = await w.fake.invoke_message_command("Animate", message, user_id=MEMBER, locale="fr")
        await w.fake.wait_for(lambda: menu.modal is not None)
        assert menu.modal is not None and menu.modal["title"] == "Animer cette image"
        [field] = _inputs(menu.modal)
        assert field["label"] == "Que doit-il se passer dans la vidéo ?"


@pytest.mark.parametrize("locale", [None, "fr", "ja"])
def test_the_modal_texts_fit_discords_limits(locale: str | None) -> None:
    for text in ("Animate this image", "What should happen in the video?"):
        assert 1 <= len(translate(locale, text)) <= MODAL_LIMIT
