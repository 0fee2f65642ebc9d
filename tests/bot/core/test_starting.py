"""Starting a job on a real database, with no chat: admission, provider resolution, the prompt
filter, the reservation and the stored job; every refusal leaves nothing charged."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.core.audit import AuditAction, AuditEntry
from bot.core.db import Database
from bot.core.errors import (
    AlreadyStarted,
    BudgetExhausted,
    ChannelUnusable,
    InvalidRequest,
    NotAccepting,
    OptionUnsupported,
    ProviderNotConfigured,
    QuotaExceeded,
    Refusal,
    Refused,
    TooManyInFlight,
)
from bot.core.guild import store as guild_store
from bot.core.guild.policy import Requester
from bot.core.images import ImageRejected
from bot.core.jobs.contracts import RunnerConfig
from bot.core.jobs.models import Job, JobState, LedgerEntry, LedgerKind
from bot.core.jobs.runner import JobRunner
from bot.core.quotas import QuotaPolicy
from bot.core.starting import JobSpec, Started, StartRequest, start_job
from providers import (
    Downloaded,
    Downloader,
    Mode,
    Provider,
    ProviderConfig,
    ProviderName,
    build_providers,
)

GUILD, CHANNEL, USER = 10, 20, 30
ORDER = (ProviderName.RUNCOMFY, ProviderName.WAVESPEED)
POLICY = QuotaPolicy(limit=4, window_seconds=86_400, max_in_flight=2)


class NoChat:
    """Starting a job never talks to the chat: every call fails the test."""

    async def hold_for_review(self, job: Job, video: Downloaded | None) -> int:
        raise AssertionError("no chat while starting a job")

    async def show_status(self, job: Job, *, waiting_position: int | None = None) -> bool:
        raise AssertionError("no chat while starting a job")

    async def deliver(self, job: Job, video: Downloaded | None) -> int:
        raise AssertionError("no chat while starting a job")

    async def find_delivery(self, job: Job) -> int | None:
        raise AssertionError("no chat while starting a job")

    async def find_status(self, job: Job) -> tuple[int, str | None] | None:
        raise AssertionError("no chat while starting a job")

    async def fresh_image_url(self, job: Job) -> str | None:
        raise AssertionError("no chat while starting a job")


class Core:
    def __init__(
        self, db: Database, runner: JobRunner, providers: dict[ProviderName, Provider]
    ) -> None:
        self.db = db
        self.runner = runner
        self.providers = providers
        self.order: tuple[ProviderName, ...] = ORDER

    async def start(self, spec: JobSpec | None = None, **fields: Any) -> Started:
        request = StartRequest(
            spec=spec or JobSpec(mode=Mode.TEXT, prompt="a red fox in the snow"),
            guild_id=GUILD,
            channel_id=CHANNEL,
            requester=Requester(
                user_id=USER, role_ids=frozenset(), channel_id=CHANNEL, channel_nsfw=False
            ),
            upload_limit=10_000_000,
            interaction_id=None,
        )
        return await start_job(
            replace(request, **fields),
            db=self.db,
            runner=self.runner,
            providers=self.providers,
            order=self.order,
        )

    def jobs(self) -> list[Job]:
        with Session(self.db.engine) as session:
            return list(session.exec(select(Job)).all())

    def ledger(self) -> list[tuple[LedgerKind, int]]:
        with Session(self.db.engine) as session:
            rows = session.exec(select(LedgerEntry).order_by(LedgerEntry.id)).all()  # type: ignore[arg-type]
            return [(row.kind, row.amount) for row in rows]

    def audit(self) -> list[AuditEntry]:
        with Session(self.db.engine) as session:
            return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())  # type: ignore[arg-type]

    def settle(self, **changes: Any) -> None:
        with self.db.session() as session:
            guild_store.update_config(
                session=session, guild_id=GUILD, actor_id=1, now=1.0, note="test", **changes
            )
            session.commit()


@pytest.fixture
async def core(db: Database, tmp_path: Path) -> AsyncIterator[Core]:
    async with httpx.AsyncClient() as client:
        configs = {
            name: ProviderConfig(api_key=SecretStr("k" * 32), base_url="https://api.invalid")
            for name in ORDER
        }
        providers = build_providers(configs, client=client, allow_loopback_urls=False)
        runner = JobRunner(
            db=db,
            providers=providers,
            downloader=Downloader(client=client, max_bytes=1_000_000, directory=tmp_path),
            config=RunnerConfig(quota=POLICY, lease_seconds=600),
            presenter=NoChat(),
        )
        await runner.start()
        try:
            yield Core(db, runner, providers)
        finally:
            await runner.stop()


def png(width: int = 640, height: int = 360) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(out, format="PNG")
    return out.getvalue()


async def test_an_accepted_job_is_stored_with_its_cost_reserved(core: Core) -> None:
    started = await core.start(JobSpec(mode=Mode.TEXT, prompt="a fox", duration=10, seed=7))

    assert started.review_channel_id is None and started.image is None
    [job] = core.jobs()
    assert job.id == started.job.id and job.state is JobState.ACCEPTED
    assert (job.guild_id, job.channel_id, job.user_id) == (GUILD, CHANNEL, USER)
    assert (job.provider, job.duration, job.seed, job.cost) == ("runcomfy", 10, 7, 2)
    assert job.lease_owner == core.runner.owner
    assert core.ledger() == [(LedgerKind.RESERVE, 2)]
    assert [e.action for e in core.audit()] == [AuditAction.ACCEPTED]
    core.runner.setup_over(job.id)


async def test_an_image_job_keeps_its_checked_image(core: Core) -> None:
    image = png()
    started = await core.start(JobSpec(mode=Mode.IMAGE, prompt="it moves", image=image))
    assert started.image == (image, "input.png")
    assert core.ledger() == [(LedgerKind.RESERVE, 1)]


async def test_a_channel_that_needs_approval_holds_the_job_and_charges_nothing(
    core: Core,
) -> None:
    core.settle(approval_everywhere=True, review_channel_id=99)
    started = await core.start()
    assert started.review_channel_id == 99
    assert started.job.state is JobState.PENDING_REVIEW
    assert core.ledger() == []
    assert [e.action for e in core.audit()][-1] is AuditAction.HELD


async def test_a_blocked_member_is_refused_audited_and_not_charged(core: Core) -> None:
    with core.db.session() as session:
        guild_store.block(
            session=session, guild_id=GUILD, user_id=USER, reason="spam", actor_id=1, now=1.0
        )
        session.commit()
    with pytest.raises(Refusal) as caught:
        await core.start()
    assert caught.value.rule == "blocked"
    assert core.jobs() == [] and core.ledger() == []
    refused = core.audit()[-1]
    assert refused.action is AuditAction.REFUSED
    assert refused.reason == "blocked: You can't make videos on this server: spam."


async def test_a_filtered_prompt_is_refused_with_its_excerpt_and_audited(core: Core) -> None:
    with core.db.session() as session:
        guild_store.add_rule(
            session=session, guild_id=GUILD, kind="word", pattern="fox", actor_id=1, now=1.0
        )
        session.commit()
    with pytest.raises(Refusal) as caught:
        await core.start(JobSpec(mode=Mode.TEXT, prompt="a red Fox", provider=ORDER[1]))
    assert caught.value.rule == "prompt" and caught.value.quoted == "Fox"
    assert core.jobs() == [] and core.ledger() == []
    refused = core.audit()[-1]
    assert (refused.action, refused.provider) == (AuditAction.REFUSED, "wavespeed")
    assert refused.reason is not None and refused.reason.startswith("prompt: Your prompt contains")


async def test_the_provider_is_the_servers_default_else_the_first_configured(core: Core) -> None:
    first = await core.start()
    core.settle(default_provider="wavespeed")
    second = await core.start()
    assert (first.job.provider, second.job.provider) == ("runcomfy", "wavespeed")


async def test_a_provider_not_configured_on_this_bot_is_refused(core: Core) -> None:
    del core.providers[ProviderName.WAVESPEED]
    with pytest.raises(ProviderNotConfigured) as caught:
        await core.start(JobSpec(mode=Mode.TEXT, prompt="p", provider=ProviderName.WAVESPEED))
    assert caught.value.available == ORDER
    assert core.jobs() == [] and core.ledger() == []


async def test_an_option_the_provider_lacks_names_the_providers_that_have_it(
    core: Core,
) -> None:
    with pytest.raises(OptionUnsupported) as caught:
        await core.start(
            JobSpec(mode=Mode.TEXT, prompt="p", provider=ProviderName.WAVESPEED, duration=10)
        )
    assert caught.value.error.option == "duration"
    assert caught.value.alternatives == (ProviderName.RUNCOMFY,)
    assert core.jobs() == [] and core.ledger() == []


async def test_the_in_flight_cap_refuses_the_next_job_and_charges_nothing(core: Core) -> None:
    for _ in range(POLICY.max_in_flight):
        await core.start()
    with pytest.raises(TooManyInFlight) as caught:
        await core.start()
    assert caught.value.usage.in_flight == POLICY.max_in_flight
    assert len(core.jobs()) == POLICY.max_in_flight
    assert core.ledger() == [(LedgerKind.RESERVE, 1)] * POLICY.max_in_flight


async def test_an_exhausted_quota_is_refused_and_charges_nothing(core: Core) -> None:
    core.runner.config = replace(core.runner.config, quota=replace(POLICY, max_in_flight=9))
    for _ in range(2):
        await core.start(JobSpec(mode=Mode.TEXT, prompt="p", duration=10))
    with pytest.raises(QuotaExceeded) as caught:
        await core.start()
    assert (caught.value.usage.used, caught.value.cost) == (4, 1)
    assert core.ledger() == [(LedgerKind.RESERVE, 2)] * 2


async def test_a_spent_server_budget_is_refused_audited_and_charges_nothing(core: Core) -> None:
    core.settle(daily_budget=1)
    await core.start()
    with pytest.raises(BudgetExhausted) as caught:
        await core.start()
    assert (caught.value.used, caught.value.budget) == (1, 1)
    assert core.ledger() == [(LedgerKind.RESERVE, 1)]
    refused = core.audit()[-1]
    assert (refused.action, refused.reason) == (AuditAction.REFUSED, "budget: server budget 1/1")


@pytest.mark.parametrize(
    ("spec", "fields", "expected"),
    [
        (JobSpec(mode=Mode.TEXT, prompt="   "), {}, InvalidRequest),
        (JobSpec(mode=Mode.IMAGE, prompt="p", image=b"not an image"), {}, ImageRejected),
        (JobSpec(mode=Mode.IMAGE, prompt="p", image=b""), {}, ImageRejected),
        (None, {"missing_permissions": ("attach_files",)}, ChannelUnusable),
    ],
    ids=["invalid-options", "bad-image", "empty-image", "channel-permissions"],
)
async def test_bad_input_is_refused_before_anything_is_stored(
    core: Core, spec: JobSpec | None, fields: dict[str, Any], expected: type[Refused]
) -> None:
    with pytest.raises(expected):
        await core.start(spec, **fields)
    assert core.jobs() == [] and core.ledger() == [] and core.audit() == []


async def test_nothing_is_started_while_the_runner_is_not_accepting(core: Core) -> None:
    core.runner.accepting = False
    with pytest.raises(NotAccepting):
        await core.start()
    assert core.jobs() == [] and core.ledger() == [] and core.audit() == []


async def test_the_job_keeps_what_only_the_receiving_process_knew(core: Core) -> None:
    await core.start(
        interaction_id=1_300_000_000_000_000_001,
        member_locale="pt-BR",
        guild_locale="de",
        upload_limit=26_214_400,
    )
    [job] = core.jobs()
    assert (job.interaction_id, job.member_locale, job.guild_locale, job.upload_limit) == (
        1_300_000_000_000_000_001,
        "pt-BR",
        "de",
        26_214_400,
    )


async def test_the_language_the_server_chose_is_the_one_its_public_posts_use(core: Core) -> None:
    await core.start(guild_locale="ja")
    core.settle(locale="fr")
    await core.start(guild_locale="ja")
    assert [job.guild_locale for job in sorted(core.jobs(), key=lambda j: j.created_at)] == [
        "ja",
        "fr",
    ]


async def test_a_second_delivery_of_one_interaction_starts_nothing_and_charges_nothing(
    core: Core,
) -> None:
    first = await core.start(interaction_id=77)
    with pytest.raises(AlreadyStarted) as caught:
        await core.start(interaction_id=77)
    assert caught.value.job_id == first.job.id
    assert [job.id for job in core.jobs()] == [first.job.id]
    assert core.ledger() == [(LedgerKind.RESERVE, 1)]
    assert [e.action for e in core.audit()] == [AuditAction.ACCEPTED]


async def test_racing_deliveries_of_one_interaction_keep_one_job_and_one_reservation(
    core: Core,
) -> None:
    """All four pass the first look before any is stored: the unique interaction id decides."""
    core.runner.config = replace(core.runner.config, quota=replace(POLICY, max_in_flight=9))
    results = await asyncio.gather(
        *(core.start(interaction_id=88) for _ in range(4)), return_exceptions=True
    )
    started = [r for r in results if isinstance(r, Started)]
    refused = [r for r in results if isinstance(r, AlreadyStarted)]
    assert (len(started), len(refused)) == (1, 3), results
    assert {r.job_id for r in refused} == {started[0].job.id}
    assert [job.id for job in core.jobs()] == [started[0].job.id]
    assert core.ledger() == [(LedgerKind.RESERVE, 1)]


async def test_the_database_refuses_a_second_job_for_one_interaction_but_not_for_none(
    core: Core,
) -> None:
    core.runner.config = replace(core.runner.config, quota=replace(POLICY, max_in_flight=9))
    await core.start(interaction_id=99)
    await core.start()
    await core.start()

    def duplicate(interaction_id: int | None) -> None:
        with core.db.session() as session:
            job = core.jobs()[0]
            copy = Job.model_validate(job.model_dump(exclude={"id"}))
            copy.interaction_id = interaction_id
            session.add(copy)
            session.commit()

    with pytest.raises(IntegrityError):
        duplicate(99)
    duplicate(None)
    assert sorted(j.interaction_id or 0 for j in core.jobs()) == [0, 0, 0, 99]
