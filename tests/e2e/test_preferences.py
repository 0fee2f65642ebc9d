"""Remembered preferences end to end: /settings and /channel-defaults through the real
client, and what the provider then receives. The order is the command's options, the member's
saved values, the channel's defaults, the server's default provider, then the provider's own
defaults; one test per level, each reading the request body the provider got. Then delivery by
direct message, and the fallback to the channel when the member's DMs are closed (50007)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.core.jobs.models import JobState
from providers.runcomfy import ASPECT_WIRE, FRAMES
from tests.e2e.harness import ADMIN, CHANNEL, GUILD, MEMBER, THREAD, World, world
from tests.fakediscord import FakeInteraction

TYPES = {"provider": 3, "aspect_ratio": 3, "duration": 4, "resolution": 3, "delivery": 3}


async def settings(w: World, sub: str, *, user: int = MEMBER, **options: Any) -> str:
    """Run /settings <sub> with options; the member's private answer."""
    opts = [{"name": k, "type": TYPES[k], "value": v} for k, v in options.items()]
    interaction = await w.fake.invoke(
        "settings", opts, guild_id=GUILD, channel_id=CHANNEL, user_id=user, subcommand=[sub]
    )
    return await w.reply(interaction)


async def channel_defaults(
    w: World, sub: str, channel: int = CHANNEL, *, user: int = ADMIN, **options: Any
) -> str:
    """Run /channel-defaults <sub> for ``channel``; the private answer."""
    opts = [{"name": "channel", "type": 7, "value": channel}]
    opts += [{"name": k, "type": TYPES[k], "value": v} for k, v in options.items()]
    interaction = await w.fake.invoke(
        "channel-defaults", opts, guild_id=GUILD, channel_id=CHANNEL, user_id=user, subcommand=[sub]
    )
    return await w.reply(interaction)


async def submitted(w: World, interaction: FakeInteraction) -> dict[str, Any]:
    """The body of the one submit the job made (RunComfy or WaveSpeed)."""
    reply = await w.reply(interaction)
    assert "on its way" in reply, reply
    await w.wait_for_state(JobState.SUBMITTED, JobState.RUNNING, JobState.DELIVERED)
    [submit] = w.runcomfy.submits() + w.wavespeed.submits()
    body: dict[str, Any] = submit.json
    return body


async def test_the_commands_option_beats_the_members_saved_one(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await settings(w, "set", duration=10, aspect_ratio="1:1")
        body = await submitted(w, await w.video("a fox", duration=5, aspect_ratio="4:3"))
        assert (body["frames"], body["aspect_ratio"]) == (FRAMES[5], ASPECT_WIRE["4:3"])


async def test_the_members_saved_option_beats_the_channels(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await channel_defaults(w, "set", duration=5, aspect_ratio="9:16")
        answer = await settings(w, "set", duration=10)
        assert "`duration`: 10 s" in answer
        body = await submitted(w, await w.video("a fox"))
        # The member's duration; the channel's shape, which the member left unset.
        assert (body["frames"], body["aspect_ratio"]) == (FRAMES[10], ASPECT_WIRE["9:16"])


async def test_the_channels_default_beats_the_servers(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("providers", "default", provider="wavespeed")
        await channel_defaults(w, "set", provider="runcomfy")
        body = await submitted(w, await w.video("a fox"))
        assert "frames" in body  # RunComfy's field
        assert w.runcomfy.submits() and not w.wavespeed.submits()


async def test_the_servers_default_beats_the_providers(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("providers", "default", provider="wavespeed")
        await channel_defaults(w, "set", provider="runcomfy", channel=CHANNEL + 1)  # elsewhere
        await submitted(w, await w.video("a fox"))
        assert w.wavespeed.submits() and not w.runcomfy.submits()


async def test_with_nothing_saved_the_provider_decides(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        body = await submitted(w, await w.video("a fox"))
        assert (body["frames"], body["aspect_ratio"]) == (FRAMES[5], ASPECT_WIRE["16:9"])


async def test_a_saved_value_the_provider_cannot_make_is_refused_and_costs_nothing(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await settings(w, "set", resolution="720P")  # RunComfy makes 720P from images only
        reply = await w.reply(await w.video("a fox"))
        assert "Your saved resolution (720P)" in reply and "/settings" in reply, reply
        assert "1080P" in reply and "Nothing was charged" in reply
        assert w.runcomfy.submits() == [] and w.jobs() == [] and w.ledger() == []


async def test_a_value_no_chosen_provider_makes_is_not_saved(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        answer = await settings(w, "set", provider="wavespeed", resolution="720P")
        assert "can't be saved" in answer and "1080P" in answer, answer
        assert "`resolution`: not set" in await settings(w, "show")


async def test_show_and_reset(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await channel_defaults(w, "set", duration=10)
        await settings(w, "set", provider="wavespeed", delivery="dm")
        shown = await settings(w, "show")
        assert "`provider`: WaveSpeed" in shown and "`delivery`: by direct message" in shown
        assert "This channel's defaults" in shown and "`duration`: 10 s" in shown
        assert "forgotten" in await settings(w, "reset")
        assert "`provider`: not set" in await settings(w, "show")
        assert "no saved defaults" in await settings(w, "reset")


async def test_the_answers_speak_the_members_language(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        interaction = await w.fake.invoke(
            "settings",
            [],
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=MEMBER,
            subcommand=["reset"],
            locale="fr",
        )
        assert (
            await w.reply(interaction) == "Vous n'aviez aucune valeur enregistrée sur ce serveur."
        )


async def test_only_managers_set_channel_defaults(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        answer = await channel_defaults(w, "set", user=MEMBER, duration=10)
        assert "Manage Server" in answer
        body = await submitted(w, await w.video("a fox"))
        assert body["frames"] == FRAMES[5]


async def test_channel_defaults_show_and_clear(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        answer = await channel_defaults(w, "set", duration=10, delivery="dm")
        assert f"<#{CHANNEL}>" in answer and "`duration`: 10 s" in answer
        assert "`delivery`: by direct message" in await channel_defaults(w, "show")
        assert "no defaults now" in await channel_defaults(w, "clear")
        assert "`duration`: not set" in await channel_defaults(w, "show")
        body = await submitted(w, await w.video("a fox"))
        assert body["frames"] == FRAMES[5]


# --- delivery by direct message ---------------------------------------------------------------


async def test_a_member_who_chose_dms_gets_the_video_by_direct_message(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await settings(w, "set", delivery="dm")
        await w.reply(await w.video("a fox"))
        [job] = await w.wait_for_state(JobState.DELIVERED, timeout=30)
        dm_id = int(w.fake.dm_channel_for(MEMBER)["id"])
        [sent] = [m for m in w.fake.channel_messages(dm_id) if m.author_id == w.fake.bot_user_id]
        assert sent.id == job.result_message_id
        assert [f.filename for f in sent.files] == [f"reelbot-{job.id[:8]}.mp4"]
        assert sent.files[0].data[4:8] == b"ftyp"  # the video itself
        assert w.results() == []  # nothing posted in the channel
        [status] = w.statuses()  # the status message stays in the channel, finished
        assert status.channel_id == CHANNEL
        assert [r.path for r in w.fake.requests if r.path == "/users/@me/channels"]


async def test_closed_dms_fall_back_to_the_channel_with_a_note(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.fake.closed_dms.add(MEMBER)
        await settings(w, "set", delivery="dm")
        await w.reply(await w.video("a fox"))
        [job] = await w.wait_for_state(JobState.DELIVERED, timeout=30)
        [result] = w.results()
        assert result.id == job.result_message_id and result.files
        assert "your DMs are closed" in (result.content or "")
        assert f"<@{MEMBER}>" in (result.content or "")
        dm_id = int(w.fake.dm_channel_for(MEMBER)["id"])
        assert w.fake.channel_messages(dm_id) == []
        refused = [
            r
            for r in w.fake.requests
            if r.method == "POST" and r.path == f"/channels/{dm_id}/messages"
        ]
        assert refused and all(r.status == 403 for r in refused)


async def test_a_channels_dm_default_applies_to_its_members(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await channel_defaults(w, "set", delivery="dm")
        await w.reply(await w.video("a fox"))
        await w.wait_for_state(JobState.DELIVERED, timeout=30)
        dm_id = int(w.fake.dm_channel_for(MEMBER)["id"])
        assert len(w.fake.channel_messages(dm_id)) == 1 and w.results() == []


async def test_a_threads_jobs_use_its_channels_defaults(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await channel_defaults(w, "set", duration=10)
        body = await submitted(w, await w.video("a fox", channel=THREAD))
        assert body["frames"] == FRAMES[10]


async def test_a_video_sent_by_dm_is_found_again_after_a_restart(tmp_path: Path) -> None:
    """A process that died after the DM was sent and before it was recorded: the next one
    finds the DM'd result instead of sending it twice."""
    async with world(tmp_path) as w:
        bot = await w.start_bot()
        await settings(w, "set", delivery="dm")
        await w.reply(await w.video("a fox"))
        [job] = await w.wait_for_state(JobState.DELIVERED, timeout=30)
        assert await bot.presenter.find_delivery(job) == job.result_message_id
        other = job.model_copy(update={"id": "0" * 32})
        assert await bot.presenter.find_delivery(other) is None
