"""The bot and the provider agree on the image size cap (RunComfy's schema: "File size must be
less than 4.7 MB", enforced by the simulator): the largest image the bot takes is one the
provider takes, and one at the cap is refused to the member before anything is charged or
sent."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import jpeg, world
from tests.providersim import RUNCOMFY_IMAGE_MAX_BYTES


def jpeg_of(size: int) -> bytes:
    """A valid JPEG of exactly `size` bytes (padding after its end marker)."""
    data = jpeg(640, 480)
    return data + b"\0" * (size - len(data))


async def test_the_largest_image_the_bot_takes_is_one_the_provider_takes(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        image = jpeg_of(RUNCOMFY_IMAGE_MAX_BYTES - 1)
        await w.reply(await w.animate(image, filename="photo.jpg", provider="runcomfy"))
        await w.wait_for_results(1, timeout=30)
        [job] = w.runcomfy.jobs.values()
        assert [status for _, status in job.input_fetches] == [200]
        assert job.script.outcome == "completed"
        assert w.charged() == 1


async def test_an_image_at_the_cap_is_refused_before_any_charge_or_submit(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        image = jpeg_of(RUNCOMFY_IMAGE_MAX_BYTES)
        reply = await w.reply(await w.animate(image, filename="photo.jpg", provider="runcomfy"))
        assert "The image is 4.7 MB; it must be under 4.7 MB." in reply
        assert w.runcomfy.submits() == []
        assert w.jobs() == [] and w.ledger() == []
        assert w.charged() == 0
        assert w.statuses() == []
