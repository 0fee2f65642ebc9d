"""Extend, end to end: the Extend button on a delivered video, its modal, the image-to-video
job from the last frame of the file the bot posted, and the chain's joined video, with real
MP4s made by the tests (PyAV) served by the provider simulator as results."""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image

from bot.core.extend import JOIN_POSTED
from bot.core.jobs.models import JobState
from tests import testdb
from tests.bot.core.video.clips import decode_all, make_clip
from tests.e2e.harness import CHANNEL, MEMBER, OTHER_MEMBER, World, world
from tests.e2e.processes import spawn_bot
from tests.fakediscord import FakeInteraction, FakeMessage
from tests.providersim import JobScript

PROMPT_ID = "reelbot-extend-prompt"
EXTEND = "reelbot:extend:"
JOINED = "reelbot:extendall:"


def clip(tmp: Path, name: str, *, frames: int, offset: int) -> tuple[Path, bytes]:
    """A real H.264 MP4, 480x320 at 24 fps, each frame its own solid colour."""

    def colour(index: int) -> tuple[int, int, int]:
        i = index + offset
        return ((i * 40) % 256, (255 - i * 40) % 256, (i * 90 + 60) % 256)

    path = make_clip(tmp / name, width=480, height=320, frames=frames, colour=colour)
    return path, path.read_bytes()


def last_frame(path: Path) -> np.ndarray[Any, Any]:
    return decode_all(path)[-1].to_ndarray(format="rgb24")


def duration_of(data: bytes, tmp: Path, name: str) -> float:
    """The joined file's length, read back with PyAV from its frames."""
    path = tmp / name
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        rate = float(stream.average_rate or 24)
    return len(frames) / rate


def joined_posts(w: World) -> list[FakeMessage]:
    return [m for m in w.channel_posts() if any(c.startswith(JOINED) for c in m.custom_ids())]


def prefilled(interaction: FakeInteraction) -> dict[str, Any]:
    modal = interaction.modal
    assert modal is not None
    [row] = modal["components"]
    inner = row.get("components") or [row.get("component")]
    return {"title": modal["title"], **inner[0]}


async def deliver_first(w: World, first: bytes, prompt: str) -> FakeMessage:
    w.runcomfy.script(JobScript(queue_seconds=5, run_seconds=10, video=first))
    await w.reply(await w.video(prompt, provider="runcomfy", duration=5))
    [result] = await w.wait_for_results(1, timeout=30)
    url = w.settings.database_url
    await w.fake.wait_for(
        lambda: testdb.rows(url, "SELECT state FROM job") == [("delivered",)], timeout=15
    )
    return result


async def extend(w: World, result: FakeMessage, prompt: str, *, user: int) -> FakeInteraction:
    job_id = next(c for c in result.custom_ids() if c.startswith(EXTEND))
    click = await w.fake.click(result, job_id, user_id=user)
    await w.fake.wait_for(lambda: click.modal is not None, timeout=15)
    return click


async def test_extend_starts_from_the_last_frame_and_posts_the_clips_joined(
    tmp_path: Path,
) -> None:
    first_path, first = clip(tmp_path, "first.mp4", frames=24, offset=0)
    _, second = clip(tmp_path, "second.mp4", frames=36, offset=3)
    async with world(tmp_path) as w:
        await w.start_bot()
        result = await deliver_first(w, first, "a lighthouse at dusk")
        [parent] = await w.wait_for_state(JobState.DELIVERED)

        # Another member extends it: the modal is pre-filled with the original prompt.
        click = await extend(w, result, "", user=OTHER_MEMBER)
        shown = prefilled(click)
        assert shown["value"] == "a lighthouse at dusk"
        assert shown["custom_id"] == PROMPT_ID and len(shown["label"]) <= 45
        assert len(shown["title"]) <= 45

        w.runcomfy.script(JobScript(queue_seconds=5, run_seconds=10, video=second))
        submitted = await w.fake.submit_modal(click, {PROMPT_ID: "the lighthouse at night"})
        assert "on its way" in await w.reply(submitted, timeout=30)

        await w.fake.wait_for(lambda: len(joined_posts(w)) == 1, timeout=60)
        [_, extension_result] = w.results()
        [joined] = joined_posts(w)

        # The provider got the last frame of the delivered file, as an image it accepts.
        [_, image_submit] = w.runcomfy.submits()
        assert image_submit.path.endswith("image-to-video")
        assert image_submit.json["prompt"] == "the lighthouse at night"
        assert image_submit.json["number_of_frames"] == 121  # the same 5 s as the first clip
        url = image_submit.json["image_urls"][0]
        [image_job] = [j for j in w.runcomfy.jobs.values() if "image_urls" in j.body]
        assert image_job.input_fetches == [(url, 200)]
        async with httpx.AsyncClient() as client:
            fetched = (await client.get(url)).content
        assert fetched.startswith(b"\xff\xd8\xff")  # a JPEG
        received = np.asarray(Image.open(io.BytesIO(fetched)).convert("RGB"), dtype=np.int16)
        expected = last_frame(first_path).astype(np.int16)
        assert received.shape == expected.shape
        assert float(np.abs(received - expected).mean()) < 6.0  # JPEG's loss only
        # ... and not the first frame (which differs by far more)
        first_frame = decode_all(first_path)[0].to_ndarray(format="rgb24").astype(np.int16)
        assert float(np.abs(received - first_frame).mean()) > 30.0

        # The new clip is posted as it came, and the joined video lasts the sum of the parts.
        assert extension_result.files[0].data == second
        [joined_file] = joined.files
        total = duration_of(joined_file.data, tmp_path, "joined.mp4")
        assert total == pytest.approx(1.0 + 1.5, abs=0.05)
        assert "2 clips" in (joined.content or "")
        assert joined.mentioned_user_ids == []

        jobs = await w.wait_for_state(JobState.DELIVERED, count=2)
        extension = next(j for j in jobs if j.id != parent.id)
        assert extension.mode == "image" and extension.user_id == OTHER_MEMBER
        assert extension.parent_job_id == parent.id
        assert extension.chain_root_id == parent.id and extension.chain_length == 2
        assert extension.join_state == JOIN_POSTED
        assert extension.join_message_id == joined.id
        assert extension.chain_seconds == pytest.approx(2.5, abs=0.05)
        # Charged like any job, to whoever extended it.
        assert w.charged(MEMBER) == 1 and w.charged(OTHER_MEMBER) == 1

        # The joined video can be extended in turn: its button opens the same modal.
        again = await w.fake.click(joined, f"{JOINED}{extension.id}", user_id=MEMBER)
        await w.fake.wait_for(lambda: again.modal is not None, timeout=15)
        assert prefilled(again)["value"] == "the lighthouse at night"


async def test_past_the_total_length_the_extend_button_says_why(tmp_path: Path) -> None:
    _, first = clip(tmp_path, "first.mp4", frames=24, offset=0)
    async with world(tmp_path) as w:
        await w.start_bot(extend_max_seconds=8)
        result = await deliver_first(w, first, "a short chain")
        job_id = next(c for c in result.custom_ids() if c.startswith(EXTEND))
        click = await w.fake.click(result, job_id, user_id=MEMBER)
        answer = await w.reply(click)
        assert "already 5 s long" in answer and "limit of 8 s" in answer
        assert click.modal is None
        assert len(w.runcomfy.submits()) == 1 and w.charged(MEMBER) == 1


async def test_the_extend_button_answers_in_the_members_language(tmp_path: Path) -> None:
    _, first = clip(tmp_path, "first.mp4", frames=24, offset=0)
    async with world(tmp_path) as w:
        await w.start_bot(extend_max_seconds=8)
        result = await deliver_first(w, first, "une courte chaîne")
        job_id = next(c for c in result.custom_ids() if c.startswith(EXTEND))
        click = await w.fake.click(result, job_id, user_id=MEMBER, locale="fr")
        assert "limite de 8 s" in await w.reply(click)


def join_rows(w: World) -> list[tuple[object, ...]]:
    return testdb.rows(
        w.settings.database_url,
        "SELECT join_state, join_message_id, state FROM job WHERE chain_root_id IS NOT NULL",
    )


@pytest.mark.parametrize("answer_lost", [False, True], ids=["post-lost", "answer-lost"])
async def test_killed_between_the_clip_and_the_join_the_join_is_posted_once(
    tmp_path: Path, answer_lost: bool
) -> None:
    _, first = clip(tmp_path, "first.mp4", frames=24, offset=0)
    _, second = clip(tmp_path, "second.mp4", frames=24, offset=5)
    async with world(tmp_path) as w:
        log = tmp_path / "bot.log"
        bot = await spawn_bot(w, log)
        try:
            await w.fake.wait_until_connected(timeout=30)
            result = await deliver_first(w, first, "survive the join")
            click = await extend(w, result, "", user=MEMBER)
            hold = w.fake.hold_next(
                "POST",
                rf"^/channels/{CHANNEL}/messages$",
                when=lambda body: JOINED in json.dumps(body),
                after=answer_lost,
            )
            w.runcomfy.script(JobScript(queue_seconds=5, run_seconds=10, video=second))
            submitted = await w.fake.submit_modal(click, {PROMPT_ID: "and on"})
            assert "on its way" in await w.reply(submitted, timeout=30)
            await hold.wait_arrived(timeout=60)
            assert len(w.results()) == 2  # the clip was posted before the join
            bot.process.send_signal(signal.SIGKILL)
            await bot.process.wait()
            hold.release()
        finally:
            await bot.stop()
        assert [(row[0], row[2]) for row in join_rows(w)] == [("owed", "delivering")]

        again = await spawn_bot(w, log)
        try:
            await w.fake.wait_for(
                lambda: [(r[0], r[2]) for r in join_rows(w)] == [(JOIN_POSTED, "delivered")],
                timeout=60,
            )
            await w.fake.wait_for(lambda: len(joined_posts(w)) == 1, timeout=10)
            [(_, message_id, _)] = join_rows(w)
            [joined] = joined_posts(w)
            assert message_id == joined.id
            assert len(w.results()) == 2  # the clip was not posted again
            assert len(w.runcomfy.submits()) == 2
        finally:
            await again.stop()
        assert joined_posts(w) == [joined]
        assert [p.name for p in (w.settings.work_dir / "tmp").iterdir()] == []
        charges = testdb.rows(
            w.settings.database_url, "SELECT kind, amount FROM quota_ledger ORDER BY id"
        )
        assert [(str(k), int(str(a))) for k, a in charges] == [
            ("reserve", 1),
            ("commit", 0),
            ("reserve", 1),
            ("commit", 0),
        ]
        text = log.read_text()
        # Lost on the way: the second process made and posted it; posted but unanswered: it
        # found it.
        found = "the joined video was already posted" in text
        assert found == answer_lost
        assert ("joined video posted (message" in text) != answer_lost
