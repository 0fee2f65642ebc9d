"""An image job submitted long after it was accepted hands the provider a URL that works:
Discord's attachment URLs are signed and expire (about 24 h), so a fresh one is obtained just
before the submit."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bot.core.jobs.models import JobState, LedgerKind
from tests.e2e.harness import CHANNEL, MEMBER, world

DAY = 24 * 3600


async def test_an_image_job_a_day_later_gets_a_fresh_url(tmp_path: Path) -> None:
    async with world(tmp_path, max_concurrent_jobs=1) as w:
        await w.start_bot()
        await w.queue_an_image_job_behind_a_long_one()
        w.fake.clock_offset = DAY + 3600  # a day passes while it waits
        await w.wait_for_results(2, timeout=30)
        [_, image_submit] = w.runcomfy.submits()
        url = image_submit.json["image_urls"][0]
        expires = int(parse_qs(urlsplit(url).query)["ex"][0], 16)
        assert expires > w.fake.now() + DAY - 60  # signed after the day passed
        [image_job] = [j for j in w.runcomfy.jobs.values() if "image_urls" in j.body]
        assert image_job.input_fetches == [(url, 200)]
        assert w.fake.refused_cdn == []


async def test_without_a_fresh_url_the_job_fails_unsent_and_refunded(tmp_path: Path) -> None:
    async with world(tmp_path, max_concurrent_jobs=1) as w:
        await w.start_bot()
        await w.queue_an_image_job_behind_a_long_one()
        image_job = next(j for j in w.jobs() if j.mode == "image")
        assert image_job.status_message_id is not None
        w.fake.messages[image_job.status_message_id].deleted = True  # someone deleted it
        [failed] = await w.wait_for_state(JobState.FAILED, timeout=30)
        assert failed.id == image_job.id
        assert "image" in (failed.error or "") and "nothing was sent" in (failed.error or "")
        assert len(w.runcomfy.submits()) == 1  # only the text job reached the provider
        refunds = [e for e in w.ledger() if e.job_id == failed.id]
        assert [e.kind for e in refunds] == [LedgerKind.RESERVE, LedgerKind.REFUND]
        assert w.charged(MEMBER) == 1


async def test_without_read_message_history_the_url_is_refreshed(tmp_path: Path) -> None:
    async with world(tmp_path, max_concurrent_jobs=1) as w:
        await w.start_bot()
        await w.queue_an_image_job_behind_a_long_one()
        w.deny_bot(CHANNEL, read_message_history=True)  # taken away while it waits
        w.fake.clock_offset = DAY + 3600
        await w.wait_for_results(2, timeout=30)
        [_, image_submit] = w.runcomfy.submits()
        url = image_submit.json["image_urls"][0]
        assert int(parse_qs(urlsplit(url).query)["ex"][0], 16) > w.fake.now()
        assert [r.path for r in w.fake.requests if "refresh-urls" in r.path] == [
            "/attachments/refresh-urls"
        ]
        assert w.fake.refused_cdn == []
