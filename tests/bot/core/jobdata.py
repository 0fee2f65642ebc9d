"""Jobs and ledger rows on a real database, for the store and quota tests."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.core.db import Database
from bot.core.jobs import store
from bot.core.jobs.models import Job, JobState, LedgerEntry, LedgerKind
from bot.core.quotas import QuotaPolicy

POLICY = QuotaPolicy(limit=5, window_seconds=86_400, max_in_flight=3)
DAY = 86_400.0


def new_job(user: int = 1, duration: int = 5, guild: int = 10) -> Job:
    return Job(
        guild_id=guild,
        channel_id=20,
        user_id=user,
        mode="text",
        provider="runcomfy",
        prompt="p",
        duration=duration,
        resolution="1080P",
        seed=1,
        cost=POLICY.cost(duration),
        upload_limit=10,
    )


def accept(db: Database, job: Job, now: float, policy: QuotaPolicy = POLICY) -> Job:
    with db.session() as session:
        accepted = store.accept(
            session=session, job=job, policy=policy, now=now, owner="me", lease_seconds=60
        )
        session.commit()
        return accepted


def move(db: Database, job_id: str, to: JobState, now: float, **fields: Any) -> Job | None:
    with db.session() as session:
        moved = store.transition(session=session, job_id=job_id, to=to, now=now, **fields)
        session.commit()
        return moved


def ledger(db: Database) -> list[tuple[LedgerKind, int, float]]:
    with Session(db.engine) as session:
        rows = session.exec(select(LedgerEntry).order_by(LedgerEntry.id)).all()  # type: ignore[arg-type]
        return [(r.kind, r.amount, r.counted_at) for r in rows]
