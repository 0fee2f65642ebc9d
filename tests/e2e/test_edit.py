"""Edit: the button on a delivered result opens a form with the prompt and seed filled in (as
Discord got the modal, within its limits); submitting starts a new job with the edited prompt
and the same options, charged to whoever submits, through the same checks as a command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.core.jobs.models import JobState, LedgerKind
from tests.e2e.harness import MEMBER, OTHER_MEMBER, World, jpeg, world
from tests.fakediscord import FakeInteraction, FakeMessage

PROMPT_INPUT = "reelbot-edit-prompt"
SEED_INPUT = "reelbot-edit-seed"


def edit_button(result: FakeMessage) -> str:
    [custom_id] = [c for c in result.custom_ids() if c.startswith("reelbot:edit:")]
    return custom_id


def text_inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The modal's text inputs by custom_id, as the bot sent them."""
    found: dict[str, dict[str, Any]] = {}
    for row in modal["components"]:
        for item in row.get("components") or [row.get("component") or {}]:
            if item.get("type") == 4:
                found[item["custom_id"]] = item
    return found


async def open_form(w: World, result: FakeMessage, user: int) -> FakeInteraction:
    click = await w.fake.click(result, edit_button(result), user_id=user)
    await w.fake.wait_for(lambda: click.modal is not None or click.original is not None)
    assert click.modal is not None, click.callbacks
    return click


async def test_edit_opens_the_form_filled_in_and_starts_a_job_with_the_edited_prompt(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, quota_limit=10) as w:
        await w.start_bot()
        await w.reply(
            await w.video(
                "a lighthouse at dusk", provider="runcomfy", aspect_ratio="9:16", duration=10,
                resolution="1080P", seed=77,
            )
        )  # fmt: skip
        [result] = await w.wait_for_results(1)
        [original_submit] = w.runcomfy.submits()

        click = await open_form(w, result, MEMBER)
        assert click.callbacks[0]["type"] == 9
        modal = click.modal
        assert modal is not None
        assert modal["title"] == "Edit and make a new video"
        inputs = text_inputs(modal)
        assert inputs[PROMPT_INPUT]["value"] == "a lighthouse at dusk"
        assert inputs[PROMPT_INPUT]["label"] == "Prompt"
        assert inputs[PROMPT_INPUT]["max_length"] == 800
        assert inputs[SEED_INPUT]["value"] == "77"
        assert click.rejected_callbacks == []  # within Discord's modal limits

        submitted = await w.fake.submit_modal(
            click, {PROMPT_INPUT: "a lighthouse at dawn", SEED_INPUT: "1234"}
        )
        assert "on its way" in await w.reply(submitted)
        await w.wait_for_results(2, timeout=30)
        [_, edited_submit] = w.runcomfy.submits()
        assert edited_submit.path == original_submit.path  # same provider and model
        assert edited_submit.json == {
            **original_submit.json,
            "prompt": "a lighthouse at dawn",
            "seed": 1234,
        }
        first, second = w.jobs()
        assert second.parent_job_id == first.id
        assert (second.aspect_ratio, second.duration, second.resolution) == ("9:16", 10, "1080P")
        assert second.user_id == MEMBER
        assert w.charged(MEMBER) == 4  # 10 s clips cost 2 each


async def test_someone_else_who_edits_gets_their_own_charged_job(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.reply(await w.video("a fox in snow", provider="runcomfy", seed=5))
        [result] = await w.wait_for_results(1)

        click = await open_form(w, result, OTHER_MEMBER)
        submitted = await w.fake.submit_modal(
            click, {PROMPT_INPUT: "a fox in snow, at night", SEED_INPUT: ""}
        )
        assert "on its way" in await w.reply(submitted)
        await w.wait_for_results(2, timeout=30)
        [_, edited] = w.runcomfy.submits()
        assert edited.json["prompt"] == "a fox in snow, at night"
        [_, second] = w.jobs()
        assert second.user_id == OTHER_MEMBER
        assert w.charged(MEMBER) == 1
        assert w.charged(OTHER_MEMBER) == 1


async def test_an_edited_prompt_the_filter_refuses_starts_nothing_and_charges_nothing(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("filter", "add-word", word="forbidden")
        await w.reply(await w.video("a quiet garden", provider="runcomfy"))
        [result] = await w.wait_for_results(1)
        await w.wait_for_state(JobState.DELIVERED)  # its charge is committed
        ledger = [(e.kind, e.amount, e.user_id) for e in w.ledger()]

        click = await open_form(w, result, MEMBER)
        submitted = await w.fake.submit_modal(click, {PROMPT_INPUT: "a forbidden garden"})
        reply = await w.reply(submitted)
        assert "contains something this server doesn't allow" in reply
        assert len(w.jobs()) == 1
        assert len(w.runcomfy.submits()) == 1
        assert [(e.kind, e.amount, e.user_id) for e in w.ledger()] == ledger


async def test_a_bad_seed_is_refused_with_the_reason_and_charges_nothing(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.reply(await w.video("a quiet garden", provider="runcomfy"))
        [result] = await w.wait_for_results(1)
        await w.wait_for_state(JobState.DELIVERED)

        click = await open_form(w, result, MEMBER)
        submitted = await w.fake.submit_modal(
            click, {PROMPT_INPUT: "a quiet garden", SEED_INPUT: "lots"}
        )
        reply = await w.reply(submitted)
        assert "The seed must be a whole number" in reply and "Nothing was charged" in reply
        assert len(w.jobs()) == 1
        assert [e.kind for e in w.ledger()] == [LedgerKind.RESERVE, LedgerKind.COMMIT]


async def test_editing_an_image_job_uses_the_same_image(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        image = jpeg(640, 480)
        await w.reply(await w.animate(image, "make it move", provider="runcomfy", seed=9))
        [result] = await w.wait_for_results(1)

        click = await open_form(w, result, MEMBER)
        submitted = await w.fake.submit_modal(
            click, {PROMPT_INPUT: "make it dance", SEED_INPUT: "9"}
        )
        assert "on its way" in await w.reply(submitted)
        await w.wait_for_results(2, timeout=30)
        first_submit, edited = w.runcomfy.submits()
        assert edited.json["prompt"] == "make it dance"
        assert {k: v for k, v in edited.json.items() if k not in ("prompt", "image_urls")} == {
            k: v for k, v in first_submit.json.items() if k not in ("prompt", "image_urls")
        }
        statuses = w.statuses("Image to video")
        assert len(statuses) == 2
        assert [s.files[0].data for s in statuses] == [image, image]
        [_, second] = await w.wait_for_state(JobState.DELIVERED, count=2)
        assert second.mode == "image"
