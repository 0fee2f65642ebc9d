"""Smaller rules, end to end: the whole prompt in embeds, a result posted once when
Discord's answer was lost (nonce with enforce_nonce, Discord docs resources/message), and a
refused duration that names the option."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.discord_layer.presenter
from bot.core.jobs.models import JobState
from bot.discord_layer.render import safe_text
from tests.e2e.harness import CHANNEL, world
from tests.providersim import JobScript

# 800 characters (the most a prompt may have) that escape to 1600 in an embed.
MARKDOWN_PROMPT = "_*" * 400


async def test_a_long_prompt_is_shown_whole(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.reply(await w.video(MARKDOWN_PROMPT))
        [result] = await w.wait_for_results(1)
        shown = safe_text(MARKDOWN_PROMPT, 4096)
        assert len(shown) == 1600 and not shown.endswith("…")
        [status] = w.statuses()
        assert status.embeds[0]["description"] == shown
        assert result.embeds[0]["description"] == shown


async def test_a_result_whose_answer_was_lost_is_posted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.discord_layer.presenter, "DELIVERY_RETRIES", (0.1, 0.1, 0.1))
    async with world(tmp_path) as w:
        w.runcomfy.default_script = JobScript(queue_seconds=5, run_seconds=150)
        await w.start_bot()
        await w.reply(await w.video("a lighthouse at dusk"))
        await w.wait_for_state(JobState.RUNNING)
        # Discord creates the result message but its answer is lost (a 503 from a proxy), and
        # the channel's history cannot be read to find it.
        w.fake.fail_next("POST", rf"/channels/{CHANNEL}/messages$", status=503, after_handling=True)
        w.fake.fail_next("GET", rf"/channels/{CHANNEL}/messages$", status=403, times=10)
        [job] = await w.wait_for_state(JobState.DELIVERED, timeout=20)
        results = w.results()
        assert len(results) == 1
        assert job.result_message_id == results[0].id
        posts = [
            r.json
            for r in w.fake.requests
            if r.method == "POST" and r.path == f"/channels/{CHANNEL}/messages" and r.files
        ]
        assert len(posts) == 2  # the lost one and the retry, with the same nonce
        nonces = {p["nonce"] for p in posts}
        assert len(nonces) == 1 and len(next(iter(nonces))) <= 25
        assert all(p["enforce_nonce"] is True for p in posts)


async def test_a_refused_duration_names_the_option(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        reply = await w.reply(await w.video("x", provider="wavespeed", duration=10))
        assert reply == (
            "WaveSpeed text-to-video makes 5-second clips only, so duration 10 s isn't "
            "available; choose RunComfy for 10 s."
        )
        assert w.jobs() == []
