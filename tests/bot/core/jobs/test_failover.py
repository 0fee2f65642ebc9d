"""The submit step's provider failover, and what a refused submit proves (the core, with real
providers over HTTP against the loopback simulators and a real database).

A job moves to another provider only when its own refused it in a way that proves no job was
created (key refused, out of credit, never reached), the member did not choose the provider
and the server has failover on. A 5xx, an answer without a job id or a lost answer may have
created a paid job: UNKNOWN, never refunded, never sent elsewhere."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import Session, select

from bot.core.audit import AuditAction, AuditEntry
from bot.core.db import Database
from bot.core.guild.models import GuildConfig
from bot.core.jobs.contracts import RunnerConfig
from bot.core.jobs.failover import created_nothing, failover_reason
from bot.core.jobs.models import Job, JobState, LedgerKind
from bot.core.jobs.moves import JobMoves
from bot.core.jobs.submitting import SubmitStep
from providers import (
    AuthenticationError,
    InsufficientCredit,
    InvalidRequest,
    Provider,
    ProviderError,
    ProviderName,
    RateLimited,
    SubmitNotSent,
    SubmitOutcomeUnknown,
    TransientError,
    UnexpectedResponse,
)
from providers.runcomfy import RunComfy
from providers.wavespeed import WaveSpeed
from tests.bot.core.jobdata import POLICY, accept, ledger, move, new_job
from tests.e2e.ports import free_port
from tests.providersim import Fault, ProviderSim

KEY = "core-failover-key-7a21"
GUILD = 10


@dataclass
class Shown:
    """The chat side: records what the status message would show."""

    states: list[tuple[JobState, str, str | None]] = field(default_factory=list)

    async def show_status(self, job: Job, *, waiting_position: int | None = None) -> bool:
        self.states.append((job.state, job.provider, job.failover_from))
        return True

    async def fresh_image_url(self, job: Job) -> str | None:
        return job.image_url

    async def hold_for_review(self, job: Job, video: object) -> int:
        raise NotImplementedError

    async def deliver(self, job: Job, video: object) -> int:
        raise NotImplementedError

    async def find_delivery(self, job: Job) -> int | None:
        raise NotImplementedError

    async def find_status(self, job: Job) -> tuple[int, str | None] | None:
        raise NotImplementedError


@dataclass
class Bench:
    db: Database
    runcomfy: ProviderSim
    wavespeed: ProviderSim
    providers: dict[ProviderName, Provider]
    shown: Shown

    def step(self) -> SubmitStep:
        moves = JobMoves(
            db=self.db, presenter=self.shown, owner="me", clock=time.time, notify=lambda: None
        )
        return SubmitStep(
            db=self.db,
            moves=moves,
            providers=self.providers,
            config=RunnerConfig(quota=POLICY, deadline_seconds=5),
            presenter=self.shown,
            owner="me",
            clock=time.time,
        )

    def submitting(self, *, failover: str | None = "wavespeed") -> Job:
        job = new_job(guild=GUILD)
        job.aspect_ratio = "16:9"  # as started: the options resolved
        job.failover_providers = failover
        accept(self.db, job, time.time())
        moved = move(self.db, job.id, JobState.SUBMITTING, time.time())
        assert moved is not None
        return moved

    def row(self, job_id: str) -> Job:
        with Session(self.db.engine) as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    def audited(self) -> list[AuditEntry]:
        with Session(self.db.engine) as session:
            query = select(AuditEntry).where(AuditEntry.action == AuditAction.FAILOVER)
            return list(session.exec(query).all())


@pytest.fixture
async def bench(db: Database) -> AsyncIterator[Bench]:
    async with (
        ProviderSim("runcomfy", api_key=KEY, time_scale=100.0) as runcomfy,
        ProviderSim("wavespeed", api_key=KEY, time_scale=100.0) as wavespeed,
        httpx.AsyncClient() as client,
    ):
        common: dict[str, Any] = {
            "client": client,
            "api_key": SecretStr(KEY),
            "allow_loopback_urls": True,
        }
        providers: dict[ProviderName, Provider] = {
            ProviderName.RUNCOMFY: RunComfy(base_url=runcomfy.base_url, **common),
            ProviderName.WAVESPEED: WaveSpeed(base_url=wavespeed.base_url, **common),
        }
        yield Bench(db, runcomfy, wavespeed, providers, Shown())


def refunded(bench: Bench) -> bool:
    return any(kind is LedgerKind.REFUND for kind, _amount, _at in ledger(bench.db))


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.runcomfy(401001), "key"),
        (Fault.runcomfy(403001), "key"),
        (Fault.runcomfy(400002), "credit"),  # insufficient balance as HTTP 402
        (Fault.runcomfy(400002, http_status=400), "credit"),  # ... or as HTTP 400
    ],
)
async def test_a_refusal_that_created_nothing_sends_the_job_to_the_other_provider(
    bench: Bench, fault: Fault, reason: str
) -> None:
    bench.runcomfy.fault(fault)
    job = bench.submitting()

    done = await bench.step().submit(job)

    assert done is not None and done.state is JobState.SUBMITTED
    row = bench.row(job.id)
    assert (row.provider, row.failover_from, row.failover_reason) == (
        "wavespeed",
        "runcomfy",
        reason,
    )
    assert row.provider_job_id in bench.wavespeed.jobs
    assert len(bench.runcomfy.submits()) == 1 and len(bench.wavespeed.submits()) == 1
    assert row.failover_providers is None  # nowhere left to go
    assert not refunded(bench)
    [entry] = bench.audited()
    assert entry.job_id == job.id and entry.provider == "wavespeed"
    assert entry.reason is not None and "RunComfy" in entry.reason
    assert ("submitting", "wavespeed", "runcomfy") in [
        (s.value, p, f) for s, p, f in bench.shown.states
    ]


async def test_a_provider_that_cannot_be_reached_hands_the_job_over(bench: Bench) -> None:
    port = free_port()  # nothing listens here: connection refused
    async with httpx.AsyncClient() as client:
        bench.providers[ProviderName.RUNCOMFY] = RunComfy(
            client=client,
            api_key=SecretStr(KEY),
            base_url=f"http://127.0.0.1:{port}",
            allow_loopback_urls=True,
        )
        job = bench.submitting()

        done = await bench.step().submit(job)

    assert done is not None and done.state is JobState.SUBMITTED
    row = bench.row(job.id)
    assert (row.provider, row.failover_reason) == ("wavespeed", "unreachable")
    assert len(bench.wavespeed.jobs) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault("post", http_status=500),  # a 5xx after sending
        Fault.runcomfy(500001),
        Fault("post", http_status=200, body={"status": "in_queue"}),  # 2xx, no request_id
        Fault("post", http_status=None, drop="after"),  # the answer was lost
    ],
    ids=["500", "500001", "2xx-without-id", "lost-answer"],
)
async def test_a_submit_that_may_have_created_a_job_is_unknown_never_refunded_nor_moved(
    bench: Bench, fault: Fault
) -> None:
    bench.runcomfy.fault(fault)
    job = bench.submitting()

    done = await bench.step().submit(job)

    assert done is not None and done.state is JobState.UNKNOWN
    row = bench.row(job.id)
    assert row.provider == "runcomfy" and row.failover_from is None
    assert not row.refunded and not refunded(bench)
    assert len(bench.runcomfy.submits()) == 1
    assert bench.wavespeed.submits() == []
    assert bench.audited() == []


async def test_with_failover_off_a_refused_job_fails_with_a_refund(bench: Bench) -> None:
    with bench.db.session() as session:
        session.add(GuildConfig(guild_id=GUILD, failover=False))
        session.commit()
    bench.runcomfy.fault(Fault.runcomfy(400002))
    job = bench.submitting()

    done = await bench.step().submit(job)

    assert done is not None and done.state is JobState.FAILED
    assert bench.row(job.id).provider == "runcomfy" and refunded(bench)
    assert bench.wavespeed.submits() == []


async def test_a_provider_the_member_chose_is_never_swapped(bench: Bench) -> None:
    bench.runcomfy.fault(Fault.runcomfy(401001))
    job = bench.submitting(failover=None)

    done = await bench.step().submit(job)

    assert done is not None and done.state is JobState.FAILED
    assert bench.wavespeed.submits() == [] and refunded(bench)


async def test_a_provider_that_cannot_make_the_same_video_is_not_used(bench: Bench) -> None:
    bench.runcomfy.fault(Fault.runcomfy(401001))
    job = new_job(guild=GUILD, duration=10)  # WaveSpeed makes 5 s clips only
    job.aspect_ratio = "16:9"
    job.failover_providers = "wavespeed"
    accept(bench.db, job, time.time())
    moved = move(bench.db, job.id, JobState.SUBMITTING, time.time())
    assert moved is not None

    done = await bench.step().submit(moved)

    assert done is not None and done.state is JobState.FAILED
    assert bench.wavespeed.submits() == []


def test_only_refusals_prove_that_nothing_was_created() -> None:
    rc = "RunComfy"
    nothing: list[ProviderError] = [
        AuthenticationError(provider=rc),
        InsufficientCredit(provider=rc),
        InvalidRequest(provider=rc),
        RateLimited(provider=rc),
        SubmitNotSent(provider=rc),
    ]
    maybe: list[ProviderError] = [
        TransientError(provider=rc, http_status=500),
        UnexpectedResponse(provider=rc),
        SubmitOutcomeUnknown(provider=rc),
    ]
    assert all(created_nothing(error) for error in nothing)
    assert not any(created_nothing(error) for error in maybe)
    assert failover_reason(InvalidRequest(provider=rc)) is None
    assert failover_reason(RateLimited(provider=rc)) is None
