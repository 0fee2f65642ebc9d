"""The member's image on an image job's status message keeps showing however long the job
takes: Discord's attachment URLs are signed and expire (about 24 h), so the embed names the
file the message carries (`attachment://`) instead of a URL that dies, edits included."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.harness import World, world
from tests.fakediscord import FakeMessage

DAY = 24 * 3600


async def fetch(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        await response.read()
        return response.status


async def image_status_after_a_day(w: World) -> FakeMessage:
    """An image job waits behind a long text job while a day passes, then finishes."""
    await w.queue_an_image_job_behind_a_long_one()
    w.fake.clock_offset = DAY + 3600
    await w.wait_for_results(2, timeout=30)
    [status] = w.statuses("Image")
    return status


async def test_the_thumbnail_still_shows_a_day_later(tmp_path: Path) -> None:
    async with world(tmp_path, max_concurrent_jobs=1) as w:
        await w.start_bot()
        status = await image_status_after_a_day(w)
        served = w.fake.message_payload(status)
        thumbnail = served["embeds"][0]["thumbnail"]["url"]
        assert await fetch(thumbnail) == 200
        assert served["attachments"] == []  # shown once, inside the embed
        assert w.fake.refused_cdn == []


async def test_every_status_edit_names_the_attached_file(tmp_path: Path) -> None:
    async with world(tmp_path, max_concurrent_jobs=1) as w:
        await w.start_bot()
        status = await image_status_after_a_day(w)
        sent = [status.payload, *status.edits]
        thumbnails = [e["embeds"][0].get("thumbnail", {}).get("url") for e in sent]
        assert len(thumbnails) >= 2  # posted, then edited at least to show the result
        assert set(thumbnails) == {"attachment://input.jpg"}
