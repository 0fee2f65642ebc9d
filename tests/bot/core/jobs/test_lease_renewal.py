"""Lease renewal next to writers that hold job rows: it renews what it can and never waits, so
two processes' passes that lock the same jobs in another order cannot deadlock."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.core.db import Database
from bot.core.jobs import store
from bot.core.jobs.models import Job
from tests.bot.core.jobdata import accept, new_job
from tests.testdb import on_postgresql

NOW = 1000.0


def lease_of(db: Database, job_id: str) -> float | None:
    with Session(db.engine) as session:
        row = session.get(Job, job_id)
        assert row is not None
        return row.lease_expires_at


def test_renewal_extends_only_this_owners_unfinished_jobs(db: Database) -> None:
    mine = accept(db, new_job(user=1), now=NOW)
    theirs = accept(db, new_job(user=2), now=NOW)
    with db.session() as session:
        row = session.get(Job, theirs.id)
        assert row is not None
        row.lease_owner = "other"
        session.add(row)
        session.commit()
    with db.session() as session:
        store.renew_leases(session=session, owner="me", job_ids=[mine.id, theirs.id], until=5000)
        session.commit()
    assert lease_of(db, mine.id) == 5000
    assert lease_of(db, theirs.id) == NOW + 60


@pytest.mark.skipif(not on_postgresql(), reason="row locks are PostgreSQL's")
def test_renewal_skips_a_row_another_transaction_holds_instead_of_waiting(db: Database) -> None:
    held = accept(db, new_job(user=1), now=NOW)
    free = accept(db, new_job(user=2), now=NOW)
    with db.engine.connect() as writer:
        writer.execute(text("BEGIN"))
        writer.execute(text("SELECT id FROM job WHERE id = :id FOR UPDATE"), {"id": held.id})
        with db.session() as session:
            # Waiting for the held row would hit this timeout and fail the renewal.
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
            store.renew_leases(session=session, owner="me", job_ids=[held.id, free.id], until=5000)
            session.commit()
        writer.execute(text("ROLLBACK"))
    assert lease_of(db, free.id) == 5000
    assert lease_of(db, held.id) == NOW + 60  # renewed on the next pass
