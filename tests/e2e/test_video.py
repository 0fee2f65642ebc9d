"""/video and /animate from slash command to posted video, through the real discord.py client."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.jobs.models import JobState, LedgerKind
from tests.e2e.harness import (
    CHANNEL,
    GUILD,
    MEMBER,
    PROVIDER_KEY,
    jpeg,
    world,
)
from tests.providersim import JobScript, tiny_mp4


async def test_commands_are_synced_with_only_configured_providers(tmp_path: Path) -> None:
    async with world(tmp_path, wavespeed_api_key="") as w:
        await w.start_bot()
        commands = {c["name"]: c for c in w.fake.synced_guild_commands[GUILD]}
        assert set(commands) == {
            *("video", "animate", "quota", "jobs", "forget", "reelbot"),
            *("settings", "channel-defaults", "Animate"),
        }
        assert int(commands["reelbot"]["default_member_permissions"]) == 1 << 5  # Manage Server
        assert int(commands["channel-defaults"]["default_member_permissions"]) == 1 << 5
        assert commands["Animate"]["type"] == 3  # a message command
        [settings_set] = [o for o in commands["settings"]["options"] if o["name"] == "set"]
        saved = {o["name"]: o for o in settings_set["options"]}
        assert [c["value"] for c in saved["provider"]["choices"]] == ["runcomfy"]
        assert commands["video"].get("default_member_permissions") is None
        options = {o["name"]: o for o in commands["video"]["options"]}
        assert [c["value"] for c in options["provider"]["choices"]] == ["runcomfy"]
        assert options["prompt"]["required"] is True
        assert options["prompt"]["max_length"] == 800
        assert [c["value"] for c in options["duration"]["choices"]] == [5, 10]
        assert len(options["aspect_ratio"]["choices"]) == 7
        assert options["seed"]["min_value"] == -1
        animate = {o["name"]: o for o in commands["animate"]["options"]}
        assert animate["image"]["type"] == 11
        assert "aspect_ratio" not in animate


@pytest.mark.parametrize("provider", ["runcomfy", "wavespeed"])
async def test_video_is_posted_as_a_new_message_mentioning_only_the_member(
    tmp_path: Path, provider: str
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        sim = w.runcomfy if provider == "runcomfy" else w.wavespeed
        video = tiny_mp4(40_000)
        sim.script(JobScript(queue_seconds=5, queue_positions=[2, 1], run_seconds=20, video=video))
        interaction = await w.video("a lighthouse at dusk", provider=provider, seed=77)
        await interaction.wait_acknowledged(timeout=3.0)
        assert interaction.callbacks[0]["type"] == 5
        assert interaction.ephemeral

        reply = await w.reply(interaction)
        assert "on its way" in reply
        [status] = [
            m for m in w.channel_posts() if m.embeds and m.embeds[0]["title"] == "Text to video"
        ]
        assert f"/{CHANNEL}/{status.id}" in reply

        [result] = await w.wait_for_results(1)
        assert result.via == "channel"
        assert result.content is not None and result.content.startswith(f"<@{MEMBER}>")
        assert result.mentioned_user_ids == [MEMBER]
        assert result.allowed_mentions == {"users": [MEMBER], "parse": []}
        [file] = result.files
        assert file.data == video
        assert file.filename.endswith(".mp4")
        fields = {f["name"]: f["value"] for f in result.embeds[0]["fields"]}
        assert fields["Seed"] == "77"
        assert fields["Duration"] == "5 sec"  # Babel's short unit for the locale
        assert fields["Provider"] == ("RunComfy" if provider == "runcomfy" else "WaveSpeed")
        assert result.embeds[0]["description"] == "a lighthouse at dusk"

        [job] = await w.wait_for_state(JobState.DELIVERED)
        assert job.result_message_id == result.id
        assert job.status_message_id == status.id
        kinds = [(e.kind, e.amount) for e in w.ledger()]
        assert kinds == [(LedgerKind.RESERVE, 1), (LedgerKind.COMMIT, 0)]

        [submit] = sim.submits()
        assert submit.json["seed"] == 77
        assert submit.json["prompt"] == "a lighthouse at dusk"
        assert submit.headers["authorization"] == f"Bearer {PROVIDER_KEY}"

        await w.fake.wait_for(lambda: "Done" in str(status.embeds))
        assert status.components == [] or all(
            not c.startswith("reelbot:cancel:") for c in status.custom_ids()
        )


@pytest.mark.parametrize("provider", ["runcomfy", "wavespeed"])
async def test_animate_rehosts_the_image_on_the_status_message(
    tmp_path: Path, provider: str
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        interaction = await w.animate(
            jpeg(640, 480),
            "the boat sails",
            filename="boat.jpg",
            content_type="image/jpeg",
            provider=provider,
        )
        await interaction.wait_acknowledged(timeout=3.0)
        [result] = await w.wait_for_results(1)
        [status] = [
            m for m in w.channel_posts() if m.embeds and m.embeds[0]["title"] == "Image to video"
        ]
        [hosted] = status.files
        assert hosted.filename == "input.jpg"
        assert hosted.data.startswith(b"\xff\xd8\xff")
        sim = w.runcomfy if provider == "runcomfy" else w.wavespeed
        [submit] = sim.submits()
        image_url = submit.json["image_urls"][0] if provider == "runcomfy" else submit.json["image"]
        assert image_url.split("?")[0] == status.attachments[0]["url"]
        assert "ephemeral-attachments" not in image_url
        assert result.files[0].data.startswith(b"\x00\x00")
