"""Data functions for jobs: acceptance, the state machine's moves, leases, queries. Each takes
a session and keyword-only arguments and runs inside the caller's transaction; what a job costs
is counted by `bot.core.quotas`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.core import quotas
from bot.core.audit import AuditAction, AuditEntry, audit, audit_job
from bot.core.guild.models import GuildConfig
from bot.core.jobs import fence, reserving
from bot.core.jobs.models import ACTIVE_STATES, FINAL_STATES, Job, JobState, predecessors
from bot.core.quotas import QuotaPolicy


def accept(
    *,
    session: Session,
    job: Job,
    policy: QuotaPolicy,
    now: float,
    owner: str,
    lease_seconds: float,
    budget: int | None = None,
    hold: bool = False,
) -> Job:
    """Store a new job, atomically with its checks. Normally it is ACCEPTED with its cost
    reserved, owned by `owner`; with `hold` it is PENDING_REVIEW and nothing is reserved yet
    (the checks still run, so nobody waits for a review of a job they could not pay for)."""
    ready(job, policy=policy, now=now, owner=owner, lease_seconds=lease_seconds, hold=hold)
    reserving.store_new(session=session, job=job, policy=policy, now=now, budget=budget, hold=hold)
    return job


def ready(
    job: Job, *, policy: QuotaPolicy, now: float, owner: str, lease_seconds: float, hold: bool
) -> None:
    """Set the fields a new job is stored with: its state, times, quota terms and lease."""
    job.state = JobState.PENDING_REVIEW if hold else JobState.ACCEPTED
    job.created_at = job.updated_at = now
    job.quota_limit = policy.limit
    job.quota_daily = policy.daily
    job.lease_owner = owner
    job.lease_expires_at = now + lease_seconds


def approve(
    *,
    session: Session,
    job_id: str,
    policy: QuotaPolicy,
    now: float,
    moderator_id: int,
    budget: int | None = None,
    owner: str | None = None,
    lease_seconds: float = 60.0,
) -> Job | None:
    """PENDING_REVIEW -> ACCEPTED, reserving the cost then. None if it was no longer pending.
    With `owner`, that process takes the job's lease in the same move (a waiting job whose
    lease lapsed may be adopted by any process's dispatcher)."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.state is not JobState.PENDING_REVIEW:
        return None
    quotas.lock_member(
        session=session, guild_id=job.guild_id, user_id=job.user_id, budget=budget is not None
    )
    quotas.check_spend(
        session=session, job=job, policy=policy, now=now, budget=budget, in_flight=False
    )
    lease: dict[str, Any] = {}
    if owner is not None:
        lease = fence.claim(owner, now + lease_seconds)
    moved = transition(
        session=session,
        job_id=job_id,
        to=JobState.ACCEPTED,
        now=now,
        actor_id=moderator_id,
        moderator_id=moderator_id,
        created_at=now,  # its place in the queue starts now
        **lease,
    )
    if moved is not None:
        quotas.reserve(session=session, job=moved, now=now)
    return moved


def transition(
    *,
    session: Session,
    job_id: str,
    to: JobState,
    now: float,
    owner: str | None = None,
    epoch: int | None = None,
    actor_id: int | None = None,
    **fields: Any,
) -> Job | None:
    """Move a job to `to` if the table allows it from its current state (compare-and-set).

    Returns the updated job, or None when the job was not in an allowed state (someone else
    moved it first). FAILED and CANCELLED refund the reservation; DELIVERED commits it, each
    exactly once because the move itself happens once. With `owner` (and `epoch`), only while
    that process holds the job's lease under that claim (`bot.core.jobs.fence`).
    """
    conditions = [col(Job.id) == job_id, col(Job.state).in_(predecessors(to))]
    if to is JobState.CANCELLED:
        # A job being sent may be cancelled only while no POST is on the wire.
        conditions.append(
            (col(Job.state) != JobState.SUBMITTING) | col(Job.submit_attempted_at).is_(None)
        )
    if owner is not None:
        conditions.extend(fence.held_by(owner, epoch))
    values: dict[str, Any] = {"state": to, "updated_at": now, **fields}
    if to.is_final:
        values.setdefault("finished_at", now)
    # The moved row comes back with the UPDATE (RETURNING): no second statement to read it, and
    # none to find what the session holds of it, which the returned row replaces.
    statement = (
        update(Job)
        .where(*conditions)
        .values(**values)
        .returning(Job)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    job: Job | None = session.execute(statement).scalars().one_or_none()
    if job is None:
        return None
    action = _AUDITED.get(to)
    if action is not None:
        audit_job(session, job=job, action=action, now=now, moderator_id=actor_id, reason=job.error)
    if to in (JobState.FAILED, JobState.CANCELLED):
        quotas.refund(session=session, job=job, now=now, note=to.value)
    elif to is JobState.DELIVERED:
        quotas.commit(session=session, job=job, now=now)
    return job


def moved_at(
    *,
    session: Session,
    job_id: str,
    to: JobState,
    now: float,
    owner: str | None,
    epoch: int | None = None,
) -> Job | None:
    """The job, if it shows the move `transition(to=to, now=now)` made (after a COMMIT whose
    outcome was lost with the connection); else None."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.state is not to or job.updated_at != now:
        return None
    if owner is not None and job.lease_owner != owner:
        return None
    if owner is not None and epoch is not None and job.lease_epoch != epoch:
        return None
    return job


_AUDITED = {
    JobState.ACCEPTED: AuditAction.APPROVED,  # the only move into ACCEPTED is an approval
    JobState.REJECTED: AuditAction.REJECTED,
    JobState.CANCELLED: AuditAction.CANCELLED,
    JobState.DELIVERED: AuditAction.DELIVERED,
    JobState.FAILED: AuditAction.FAILED,
    JobState.UNKNOWN: AuditAction.UNKNOWN,
}


def get(*, session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id, populate_existing=True)


_COLUMNS = tuple(attribute.key for attribute in inspect(Job).column_attrs)


def absorb(job: Job, newer: Job) -> None:
    """Give `job` every stored value of `newer`, a later read of the same row, as loaded (not
    pending) values: a caller keeps one copy of a job rather than one per read."""
    if job.id != newer.id:
        raise ValueError(f"job {job.id} cannot take the values of job {newer.id}")
    for key in _COLUMNS:
        set_committed_value(job, key, getattr(newer, key))


def update_fields(
    *,
    session: Session,
    job_id: str,
    now: float,
    owner: str | None = None,
    epoch: int | None = None,
    **fields: Any,
) -> bool:
    """Write a job's fields; with `owner`, only while that process holds its lease (a fenced
    write: a process paused past its lease cannot overwrite its successor's progress), and
    with `epoch` only under that claim of it. False if nothing was written."""
    conditions = [col(Job.id) == job_id]
    if owner is not None:
        conditions.extend(fence.held_by(owner, epoch))
    result: Any = session.execute(update(Job).where(*conditions).values(updated_at=now, **fields))
    return bool(result.rowcount == 1)


def hold_lease(
    *, session: Session, job_id: str, owner: str, until: float, epoch: int | None = None
) -> bool:
    """Extend `owner`'s lease on an unfinished job, if it still holds it: False once another
    process took the job over. Whether the lease had lapsed does not matter: a takeover moves
    the owner in the same compare-and-set (`claim_orphans`), so while the owner is unchanged
    nobody else has acted on the job, and after this nobody can until `until`. With `epoch`,
    a lease that went elsewhere and came back since that claim is not this caller's."""
    result: Any = session.execute(
        update(Job)
        .where(
            col(Job.id) == job_id,
            *fence.held_by(owner, epoch),
            col(Job.state).in_(ACTIVE_STATES),
        )
        .values(lease_expires_at=until)
    )
    return bool(result.rowcount == 1)


def waiting_position(*, session: Session, job: Job) -> int:
    """1-based position in our own FIFO of accepted jobs."""
    ahead = session.exec(
        select(func.count())
        .select_from(Job)
        .where(Job.state == JobState.ACCEPTED, col(Job.created_at) < job.created_at)
    ).one()
    return int(ahead) + 1


def renew_leases(*, session: Session, owner: str, job_ids: Iterable[str], until: float) -> None:
    """Extend `owner`'s leases on those of `job_ids` that are unfinished: a job that ended
    (cancelled through another process, say) keeps no lease it released."""
    ids = list(job_ids)
    if ids:
        # A renewal never waits for a row another transaction holds (a slot pass or a move
        # writing it right now): it skips it until the next pass, so it cannot deadlock with
        # writers that lock the same jobs in another order (PostgreSQL docs, sql-select:
        # "The Locking Clause", SKIP LOCKED). SQLite writes one transaction at a time and
        # renders no locking clause.
        free = (
            select(Job.id)
            .where(
                col(Job.id).in_(ids),
                col(Job.lease_owner) == owner,
                col(Job.state).in_(ACTIVE_STATES),
            )
            .order_by(col(Job.id))
            .with_for_update(skip_locked=True)
        )
        session.execute(
            update(Job)
            .where(col(Job.id).in_(free.scalar_subquery()))
            .values(lease_expires_at=until)
        )


def claim_orphans(*, session: Session, owner: str, now: float, until: float) -> list[str]:
    """Take over unfinished jobs whose lease expired (their process died) or was released: one
    UPDATE, whose conditions make a job another process claims meanwhile not ours."""
    result = session.execute(
        update(Job).where(_orphaned(now)).values(**fence.claim(owner, until)).returning(col(Job.id))
    )
    return [str(job_id) for job_id in result.scalars()]


def next_lease_expiry(*, session: Session, owner: str, now: float) -> float | None:
    """When the next lease held by another process runs out, if any does after `now`: a job
    it holds becomes an orphan then if that process is gone."""
    expiry = session.execute(
        select(func.min(col(Job.lease_expires_at))).where(
            col(Job.state).in_(_LEASED_STATES),
            col(Job.lease_owner) != owner,
            col(Job.lease_expires_at) >= now,
        )
    ).scalar()
    return None if expiry is None else float(expiry)


# Jobs waiting for a moderator belong to no process until someone acts.
_LEASED_STATES = ACTIVE_STATES - {JobState.PENDING_REVIEW, JobState.HELD}


def _orphaned(now: float) -> Any:
    return col(Job.state).in_(_LEASED_STATES) & (
        (col(Job.lease_expires_at).is_(None)) | (col(Job.lease_expires_at) < now)
    )


def mark_submit_attempt(
    *, session: Session, job_id: str, owner: str, now: float, epoch: int | None = None
) -> bool:
    """Record, before the paid POST, that it is about to be sent. False if the job is no
    longer this process's to send (cancelled, or taken over)."""
    return _set_submitting(
        session, job_id=job_id, owner=owner, epoch=epoch, now=now, attempted_at=now, retry_at=None
    )


def clear_submit_attempt(
    *,
    session: Session,
    job_id: str,
    owner: str,
    now: float,
    retry_at: float,
    epoch: int | None = None,
) -> bool:
    """The provider said no job was created (429, or never reached): nothing is on the wire
    until the next try at `retry_at`."""
    return _set_submitting(
        session,
        job_id=job_id,
        owner=owner,
        epoch=epoch,
        now=now,
        attempted_at=None,
        retry_at=retry_at,
    )


def _set_submitting(
    session: Session,
    *,
    job_id: str,
    owner: str,
    epoch: int | None,
    now: float,
    attempted_at: float | None,
    retry_at: float | None,
) -> bool:
    """Set a SUBMITTING job's attempt fields, if this process still holds it."""
    result: Any = session.execute(
        update(Job)
        .where(
            col(Job.id) == job_id,
            col(Job.state) == JobState.SUBMITTING,
            *fence.held_by(owner, epoch),
        )
        .values(submit_attempted_at=attempted_at, submit_retry_at=retry_at, updated_at=now)
    )
    return bool(result.rowcount == 1)


def leased_elsewhere(
    *, session: Session, job_ids: Iterable[str], owner: str, now: float
) -> set[str]:
    """Of `job_ids`, the unfinished jobs whose lease another live process holds."""
    ids = list(job_ids)
    if not ids:
        return set()
    rows = session.exec(
        select(Job.id).where(
            col(Job.id).in_(ids),
            col(Job.state).in_(ACTIVE_STATES),
            col(Job.lease_owner) != owner,
            col(Job.lease_expires_at) >= now,
        )
    ).all()
    return set(rows)


def claim_unshown_finals(
    *,
    session: Session,
    owner: str,
    now: float,
    until: float,
    since: float,
    skip: Iterable[str] = (),
    limit: int = 50,
) -> list[Job]:
    """Finished jobs (since `since`) whose status message may still show an earlier state and
    that no live process is busy with: leased to `owner` so one process shows each."""
    candidates = session.exec(
        select(Job.id)
        .where(
            col(Job.state).in_(FINAL_STATES),
            col(Job.final_shown).is_(False),
            col(Job.finished_at) >= since,
            (col(Job.lease_expires_at).is_(None)) | (col(Job.lease_expires_at) < now),
            col(Job.id).not_in(list(skip)),
        )
        .order_by(col(Job.finished_at))
        .limit(limit)
    ).all()
    claimed: list[Job] = []
    for job_id in candidates:
        result: Any = session.execute(
            update(Job)
            .where(
                col(Job.id) == job_id,
                col(Job.final_shown).is_(False),
                (col(Job.lease_expires_at).is_(None)) | (col(Job.lease_expires_at) < now),
            )
            .values(**fence.claim(owner, until))
        )
        if result.rowcount == 1:
            job = session.get(Job, job_id, populate_existing=True)
            if job is not None:
                claimed.append(job)
    return claimed


def release_leases(*, session: Session, owner: str) -> None:
    """On a clean shutdown: let the next process take the jobs over at once."""
    session.execute(
        update(Job)
        .where(col(Job.lease_owner) == owner, col(Job.state).in_(ACTIVE_STATES))
        .values(lease_expires_at=0.0)
    )


def expired_reviews(*, session: Session, now: float, default_hours: float) -> list[str]:
    """Jobs that waited for approval longer than their server's review expiry."""
    rows = session.exec(
        select(Job.id, Job.created_at, GuildConfig.review_expiry_hours)
        .join(GuildConfig, col(GuildConfig.guild_id) == col(Job.guild_id), isouter=True)
        .where(Job.state == JobState.PENDING_REVIEW)
    ).all()
    return [
        job_id
        for job_id, created_at, hours in rows
        if now - created_at > (hours if hours is not None else default_hours) * 3600
    ]


def unsettled_unknown(*, session: Session, guild_id: int) -> Sequence[Job]:
    """The server's jobs whose outcome is unknown and that no admin has settled yet."""
    return session.exec(
        select(Job)
        .where(
            Job.guild_id == guild_id,
            Job.state == JobState.UNKNOWN,
            col(Job.moderator_id).is_(None),
        )
        .order_by(col(Job.created_at).desc())
    ).all()


def recent_jobs(
    *, session: Session, guild_id: int | None, user_id: int, limit: int = 10
) -> Sequence[Job]:
    return session.exec(
        select(Job)
        .where(Job.guild_id == guild_id, Job.user_id == user_id)
        .order_by(col(Job.created_at).desc())
        .limit(limit)
    ).all()


def resolve_unknown(
    *, session: Session, guild_id: int, job_id: str, refund: bool, actor_id: int, now: float
) -> Job | None:
    """An admin settles a job whose outcome at the provider was unknown, after checking the
    provider's dashboard: give the member their units back, or keep the charge. Once."""
    verdict = "refunded" if refund else "kept charged"
    # Compare-and-set: of two admins settling it at once, one does (and refunds at most once).
    result: Any = session.execute(
        update(Job)
        .where(
            col(Job.id) == job_id,
            col(Job.guild_id) == guild_id,
            col(Job.state) == JobState.UNKNOWN,
            col(Job.moderator_id).is_(None),
        )
        .values(
            moderator_id=actor_id,
            error=func.coalesce(col(Job.error), "outcome unknown")
            + f"; checked by an admin and {verdict}",
        )
    )
    if result.rowcount != 1:
        return None  # no such job here, not unknown, or already settled
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None  # noqa: S101 - just updated
    if refund:
        quotas.refund(session=session, job=job, now=now, note="unknown job refunded by an admin")
    audit(
        session=session,
        guild_id=guild_id,
        action=AuditAction.QUOTA,
        now=now,
        user_id=job.user_id,
        moderator_id=actor_id,
        job_id=job.id,
        prompt=job.prompt,
        reason=f"unknown job {verdict}",
    )
    return job


def erase_prompts(*, session: Session, guild_id: int, user_id: int) -> tuple[int, int]:
    """A member's right to be forgotten: prompts go, counts and outcomes stay. Only finished
    jobs lose theirs: an unfinished job still needs its prompt to be sent. Returns (erased,
    kept unfinished)."""
    mine = (col(Job.guild_id) == guild_id, col(Job.user_id) == user_id)
    unfinished = list(
        session.exec(select(Job.id).where(*mine, col(Job.state).in_(ACTIVE_STATES))).all()
    )
    result: Any = session.execute(
        update(Job).where(*mine, col(Job.state).in_(FINAL_STATES)).values(prompt=None)
    )
    session.execute(
        update(AuditEntry)
        .where(
            col(AuditEntry.guild_id) == guild_id,
            col(AuditEntry.user_id) == user_id,
            col(AuditEntry.job_id).is_(None) | col(AuditEntry.job_id).not_in(unfinished),
        )
        .values(prompt=None)
    )
    return int(result.rowcount or 0), len(unfinished)
