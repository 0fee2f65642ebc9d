"""Provider failover end to end (real bot, fake Discord, both provider simulators over HTTP).

A member who did not choose a provider gets their video from the other one when the default
refuses the job in a way that proves no job was created: key refused, insufficient credit,
nothing listening. Never after the submit may have created a job: a lost answer or a 5xx
after sending stays unknown, with exactly one submit."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, select

from bot.core.audit import AuditAction, AuditEntry
from bot.core.jobs.models import JobState
from tests.e2e.harness import World, world
from tests.e2e.ports import free_port
from tests.providersim import Fault


def edits_text(w: World) -> str:
    return " ".join(json.dumps(edit, ensure_ascii=False) for m in w.statuses() for edit in m.edits)


def failovers(w: World) -> list[AuditEntry]:
    assert w.bot is not None
    with Session(w.bot.db.engine) as session:
        query = select(AuditEntry).where(AuditEntry.action == AuditAction.FAILOVER)
        return list(session.exec(query).all())


async def delivered_elsewhere(w: World, reason: str) -> None:
    """The one job went to WaveSpeed, was delivered and charged once, and said why."""
    await w.reply(await w.video("a lighthouse in a storm"))
    [job] = await w.wait_for_state(JobState.DELIVERED, timeout=30)
    await w.wait_for_results(1)
    assert (job.provider, job.failover_from) == ("wavespeed", "runcomfy")
    assert len(w.wavespeed.submits()) == 1 and len(w.wavespeed.jobs) == 1
    assert w.runcomfy.jobs == {}
    assert w.charged() == 1
    said = f"Sent to WaveSpeed because RunComfy refused it: {reason}"
    await w.fake.wait_for(lambda: said in edits_text(w), timeout=10)
    [entry] = failovers(w)
    assert entry.job_id == job.id and entry.provider == "wavespeed"
    # The result names the provider that made it and what it cost.
    fields = {f["name"]: f["value"] for f in w.results()[0].embeds[0]["fields"]}
    assert fields["Provider"] == "WaveSpeed" and fields["Cost"] == "1 unit"


async def test_a_refused_key_sends_the_job_to_the_other_provider(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.fault(Fault.runcomfy(401001))
        await delivered_elsewhere(w, "its API key was refused")
        assert len(w.runcomfy.submits()) == 1


async def test_insufficient_credit_sends_the_job_to_the_other_provider(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.fault(Fault.runcomfy(400002))  # HTTP 402, "Insufficient balance"
        await delivered_elsewhere(w, "its account is out of credit")
        assert len(w.runcomfy.submits()) == 1


async def test_a_provider_that_refuses_connections_hands_the_job_over(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
        await w.start_bot(runcomfy_base_url=nobody)
        await delivered_elsewhere(w, "it could not be reached")


async def test_a_lost_submit_answer_is_unknown_and_never_sent_elsewhere(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.fault(Fault(kind="post", http_status=None, drop="after"))
        await w.reply(await w.video("a lost answer"))
        [job] = await w.wait_for_state(JobState.UNKNOWN, timeout=30)
        assert job.provider == "runcomfy" and job.failover_from is None
        assert len(w.runcomfy.submits()) == 1 and len(w.runcomfy.jobs) == 1
        assert w.wavespeed.submits() == []
        assert w.charged() == 1 and not job.refunded  # held until an admin checks
        assert failovers(w) == []


async def test_a_5xx_after_sending_is_unknown_and_never_sent_elsewhere(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.fault(Fault.runcomfy(500001))
        await w.reply(await w.video("a server error"))
        [job] = await w.wait_for_state(JobState.UNKNOWN, timeout=30)
        assert job.provider == "runcomfy" and not job.refunded
        assert len(w.runcomfy.submits()) == 1
        assert w.wavespeed.submits() == []
        assert w.charged() == 1
        await w.fake.wait_for(lambda: "Outcome unknown" in edits_text(w), timeout=10)


async def test_with_failover_off_a_refused_job_fails_with_a_refund(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        assert "Failover is off" in await w.admin("failover", state="off")
        w.runcomfy.fault(Fault.runcomfy(401001))
        await w.reply(await w.video("no failover here"))
        [job] = await w.wait_for_state(JobState.FAILED, timeout=30)
        assert job.provider == "runcomfy" and job.refunded
        assert w.wavespeed.submits() == []
        assert w.charged() == 0
        assert failovers(w) == []

        assert "Failover is on" in await w.admin("failover", state="on")
        w.runcomfy.fault(Fault.runcomfy(401001))
        await w.reply(await w.video("failover again"))
        await w.wait_for_state(JobState.DELIVERED, timeout=30)
        assert len(w.wavespeed.submits()) == 1


async def test_a_provider_the_member_chose_is_never_swapped(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        w.runcomfy.fault(Fault.runcomfy(401001))
        await w.reply(await w.video("runcomfy or nothing", provider="runcomfy"))
        [job] = await w.wait_for_state(JobState.FAILED, timeout=30)
        assert job.provider == "runcomfy" and job.failover_providers is None
        assert w.wavespeed.submits() == [] and w.charged() == 0
