"""Planning an extension: the provider and options of the next clip, and the chain's limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.core.extend import JOIN_OWED, Blocked, ExtensionPlan, plan_extension
from bot.core.jobs.models import Job, JobState
from providers import Provider, ProviderConfig, ProviderName, build_providers

ORDER = [ProviderName.RUNCOMFY, ProviderName.WAVESPEED]


@pytest.fixture
async def providers() -> AsyncIterator[dict[ProviderName, Provider]]:
    async with httpx.AsyncClient() as client:
        configs = {
            name: ProviderConfig(api_key=SecretStr("k" * 32), base_url="https://api.invalid")
            for name in ORDER
        }
        yield build_providers(configs, client=client, allow_loopback_urls=False)


def delivered(**fields: object) -> Job:
    values: dict[str, object] = {
        "guild_id": 1,
        "channel_id": 2,
        "user_id": 3,
        "mode": "text",
        "provider": "runcomfy",
        "prompt": "a lighthouse",
        "duration": 10,
        "resolution": "1080P",
        "seed": 1,
        "cost": 2,
        "upload_limit": 10_000_000,
        "state": JobState.DELIVERED,
        "result_message_id": 99,
    }
    values.update(fields)
    return Job(**values)  # type: ignore[arg-type]


def test_the_next_clip_keeps_the_provider_duration_and_resolution(
    providers: dict[ProviderName, Provider],
) -> None:
    parent = delivered()
    plan = plan_extension(parent, providers=providers, order=ORDER, max_seconds=30)
    assert isinstance(plan, ExtensionPlan)
    assert (plan.provider, plan.duration, plan.resolution) == (ProviderName.RUNCOMFY, 10, "1080P")
    assert plan.link.parent_job_id == parent.id and plan.link.root_id == parent.id
    assert (plan.link.length, plan.link.seconds) == (2, 20.0)
    assert plan.link.columns()["join_state"] == JOIN_OWED


def test_a_chain_keeps_its_root_and_counts_on(providers: dict[ProviderName, Provider]) -> None:
    parent = delivered(chain_root_id="r" * 32, chain_length=3, chain_seconds=20.0)
    plan = plan_extension(parent, providers=providers, order=ORDER, max_seconds=30)
    assert isinstance(plan, ExtensionPlan)
    assert (plan.link.root_id, plan.link.length, plan.link.seconds) == ("r" * 32, 4, 30.0)


def test_a_shorter_clip_is_planned_when_the_same_length_would_pass_the_limit(
    providers: dict[ProviderName, Provider],
) -> None:
    plan = plan_extension(delivered(), providers=providers, order=ORDER, max_seconds=15)
    assert isinstance(plan, ExtensionPlan) and plan.duration == 5


def test_past_the_limit_it_is_blocked(providers: dict[ProviderName, Provider]) -> None:
    parent = delivered(chain_root_id="r" * 32, chain_length=3, chain_seconds=27.0)
    assert plan_extension(parent, providers=providers, order=ORDER, max_seconds=30) == (
        Blocked.TOO_LONG
    )


def test_wavespeed_makes_its_own_length_from_an_image(
    providers: dict[ProviderName, Provider],
) -> None:
    parent = delivered(provider="wavespeed", duration=5, resolution="1080P")
    plan = plan_extension(parent, providers=providers, order=ORDER, max_seconds=30)
    assert isinstance(plan, ExtensionPlan)
    assert plan.provider is ProviderName.WAVESPEED and plan.duration == 5


@pytest.mark.parametrize(
    ("fields", "blocked"),
    [
        ({"state": JobState.DELIVERING, "result_message_id": None}, Blocked.STILL_POSTING),
        ({"state": JobState.FAILED, "result_message_id": None}, Blocked.NOT_DELIVERED),
        ({"prompt": None}, Blocked.PROMPT_ERASED),
    ],
)
def test_what_cannot_be_extended(
    providers: dict[ProviderName, Provider], fields: dict[str, object], blocked: Blocked
) -> None:
    parent = delivered(**fields)
    assert plan_extension(parent, providers=providers, order=ORDER, max_seconds=30) == blocked
