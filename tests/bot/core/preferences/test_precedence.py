"""Which value a new job takes for each option, on a real database: the command's, then the
member's saved one, then the channel's default, then the server's, then the provider's; a saved
value the provider cannot honour is refused by name and charges nothing."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.preferences import store
from bot.core.preferences.models import Delivery
from bot.core.preferences.resolve import (
    Level,
    PreferenceUnsaveable,
    PreferenceUnsupported,
    check_saveable,
)
from bot.core.preferences.store import Values
from bot.core.starting import JobSpec
from providers import Mode, ProviderName
from tests.bot.core import test_starting
from tests.bot.core.test_starting import CHANNEL, GUILD, ORDER, USER, Core, png

core = test_starting.core  # the same real runner and database


def save_member(core: Core, **values: Any) -> None:
    with core.db.session() as session:
        store.save_member(
            session=session, guild_id=GUILD, user_id=USER, values=Values(**values), now=1.0
        )
        session.commit()


def save_channel(core: Core, channel: int = CHANNEL, **values: Any) -> None:
    with core.db.session() as session:
        store.save_channel(
            session=session,
            guild_id=GUILD,
            channel_id=channel,
            values=Values(**values),
            actor_id=1,
            now=1.0,
        )
        session.commit()


def text(**options: object) -> JobSpec:
    return JobSpec(mode=Mode.TEXT, prompt="a fox", **options)  # type: ignore[arg-type]


async def test_the_commands_options_beat_the_members(core: Core) -> None:
    save_member(core, duration=10, aspect_ratio="1:1", provider="runcomfy")
    save_channel(core, duration=10, aspect_ratio="9:16")
    started = await core.start(
        text(duration=5, aspect_ratio="4:3", provider=ProviderName.WAVESPEED)
    )
    job = started.job
    assert (job.provider, job.duration, job.aspect_ratio) == ("wavespeed", 5, "4:3")


async def test_the_members_values_beat_the_channels(core: Core) -> None:
    save_member(core, duration=10, aspect_ratio="1:1")
    save_channel(core, duration=5, aspect_ratio="9:16")
    job = (await core.start(text())).job
    assert (job.provider, job.duration, job.aspect_ratio) == ("runcomfy", 10, "1:1")


async def test_what_the_member_left_unset_comes_from_the_channel(core: Core) -> None:
    save_member(core, aspect_ratio="1:1")
    save_channel(core, aspect_ratio="9:16", provider="wavespeed")
    job = (await core.start(text())).job
    assert (job.provider, job.aspect_ratio) == ("wavespeed", "1:1")


async def test_the_channels_defaults_beat_the_servers(core: Core) -> None:
    core.settle(default_provider="wavespeed")
    save_channel(core, provider="runcomfy", duration=10)
    job = (await core.start(text())).job
    assert (job.provider, job.duration) == ("runcomfy", 10)


async def test_another_channels_defaults_do_not_apply(core: Core) -> None:
    save_channel(core, CHANNEL + 1, provider="wavespeed")
    job = (await core.start(text())).job
    assert job.provider == "runcomfy"


async def test_the_servers_default_beats_the_providers(core: Core) -> None:
    core.settle(default_provider="wavespeed")
    job = (await core.start(text())).job
    assert job.provider == "wavespeed"


async def test_with_nothing_saved_the_provider_decides(core: Core) -> None:
    job = (await core.start(text())).job
    assert (job.provider, job.duration, job.aspect_ratio, job.resolution) == (
        "runcomfy",
        5,
        "16:9",
        "1080P",
    )
    assert job.deliver_dm is False


async def test_an_animated_image_keeps_its_shape_whatever_is_saved(core: Core) -> None:
    save_member(core, aspect_ratio="9:16", resolution="720P")
    job = (await core.start(JobSpec(mode=Mode.IMAGE, prompt="it moves", image=png()))).job
    assert (job.aspect_ratio, job.resolution) == (None, "720P")


async def test_a_saved_value_the_provider_cannot_make_is_refused_by_name(core: Core) -> None:
    save_member(core, resolution="720P")  # RunComfy text-to-video makes 1080P only
    with pytest.raises(PreferenceUnsupported) as caught:
        await core.start(text())
    refusal = caught.value
    assert (refusal.option, refusal.value, refusal.level) == ("resolution", "720P", Level.MEMBER)
    assert (refusal.provider, refusal.mode, refusal.accepted) == (
        ProviderName.RUNCOMFY,
        Mode.TEXT,
        ("1080P",),
    )
    assert core.jobs() == [] and core.ledger() == []


async def test_a_channel_default_the_provider_cannot_make_names_the_channel(core: Core) -> None:
    save_channel(core, duration=10, provider="wavespeed")  # WaveSpeed makes 5 s clips only
    with pytest.raises(PreferenceUnsupported) as caught:
        await core.start(text())
    assert (caught.value.option, caught.value.level) == ("duration", Level.CHANNEL)
    assert core.ledger() == []


async def test_a_saved_provider_the_server_disabled_is_refused_by_name(core: Core) -> None:
    save_member(core, provider="wavespeed")
    core.settle(disabled_providers=["wavespeed"])
    with pytest.raises(PreferenceUnsupported) as caught:
        await core.start(text())
    assert (caught.value.option, caught.value.accepted) == ("provider", ("runcomfy",))
    assert core.ledger() == []


async def test_the_command_can_override_a_saved_value_that_would_be_refused(core: Core) -> None:
    save_member(core, resolution="720P")
    job = (await core.start(text(resolution="1080P"))).job
    assert job.resolution == "1080P"


async def test_delivery_by_direct_message_is_kept_on_the_job(core: Core) -> None:
    save_channel(core, delivery=Delivery.DM.value)
    assert (await core.start(text())).job.deliver_dm is True


async def test_the_members_delivery_beats_the_channels(core: Core) -> None:
    save_channel(core, delivery=Delivery.DM.value)
    save_member(core, delivery=Delivery.CHANNEL.value)
    assert (await core.start(text())).job.deliver_dm is False


async def test_resetting_forgets_the_members_values(core: Core) -> None:
    save_member(core, duration=10)
    with core.db.session() as session:
        assert store.reset_member(session=session, guild_id=GUILD, user_id=USER)
        session.commit()
    assert (await core.start(text())).job.duration == 5


def test_a_value_the_chosen_provider_never_makes_cannot_be_saved(core: Core) -> None:
    with pytest.raises(PreferenceUnsaveable) as caught:
        check_saveable(
            Values(provider="wavespeed", resolution="720P"), providers=core.providers, order=ORDER
        )
    assert (caught.value.option, caught.value.accepted) == ("resolution", ("1080P",))
    # RunComfy makes 720P (image to video), so it can be saved without a provider.
    check_saveable(Values(resolution="720P"), providers=core.providers, order=ORDER)
