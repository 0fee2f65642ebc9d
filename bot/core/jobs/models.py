"""Tables and the job state machine."""

from __future__ import annotations

import time
import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Integer, String, text
from sqlmodel import Field, SQLModel

from bot.core.db import enum_column


class JobState(StrEnum):
    PENDING_REVIEW = "pending_review"  # approval mode: nothing charged until a moderator approves
    ACCEPTED = "accepted"  # quota reserved; waiting in our own queue for a provider slot
    SUBMITTING = "submitting"  # the paid POST may be on the wire
    SUBMITTED = "submitted"  # the provider's job id is stored; queued at the provider
    RUNNING = "running"
    DOWNLOADING = "downloading"
    HELD = "held"  # a flagged video waits for a moderator (NSFW policy "review")
    DELIVERING = "delivering"  # the result post may be on the wire
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # the outcome at the provider is not known; shown to admins
    REJECTED = "rejected"  # a moderator (or the review deadline) refused it; nothing was charged

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def at_provider(self) -> bool:
        return self in (JobState.SUBMITTING, JobState.SUBMITTED, JobState.RUNNING)


FINAL_STATES = frozenset(
    {
        JobState.DELIVERED,
        JobState.FAILED,
        JobState.CANCELLED,
        JobState.UNKNOWN,
        JobState.REJECTED,
    }
)
ACTIVE_STATES = frozenset(set(JobState) - FINAL_STATES)

# The one table of allowed moves.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING_REVIEW: frozenset({JobState.ACCEPTED, JobState.REJECTED, JobState.CANCELLED}),
    JobState.ACCEPTED: frozenset({JobState.SUBMITTING, JobState.FAILED, JobState.CANCELLED}),
    # SUBMITTING -> CANCELLED only while no submit is on the wire (see `store.transition`).
    JobState.SUBMITTING: frozenset(
        {JobState.SUBMITTED, JobState.FAILED, JobState.UNKNOWN, JobState.CANCELLED}
    ),
    JobState.SUBMITTED: frozenset(
        {
            JobState.RUNNING,
            JobState.DOWNLOADING,
            JobState.FAILED,
            JobState.CANCELLED,
            JobState.UNKNOWN,
        }
    ),
    JobState.RUNNING: frozenset(
        {JobState.DOWNLOADING, JobState.FAILED, JobState.CANCELLED, JobState.UNKNOWN}
    ),
    JobState.DOWNLOADING: frozenset({JobState.DELIVERING, JobState.HELD, JobState.FAILED}),
    JobState.HELD: frozenset({JobState.DELIVERING, JobState.FAILED}),
    JobState.DELIVERING: frozenset({JobState.DELIVERED, JobState.FAILED}),
    JobState.DELIVERED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
    JobState.UNKNOWN: frozenset(),
    JobState.REJECTED: frozenset(),
}


def predecessors(target: JobState) -> frozenset[JobState]:
    return frozenset(state for state, nexts in TRANSITIONS.items() if target in nexts)


def new_job_id() -> str:
    return uuid.uuid4().hex


def _id_column(*, nullable: bool = False, index: bool = False) -> Column[int]:
    return Column(BigInteger, nullable=nullable, index=index)


class Job(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_state_created", "state", "created_at"),
        Index("ix_job_user_state", "guild_id", "user_id", "state"),
        # One job per interaction: a delivery of the same interaction again (a gateway replay,
        # a second process) cannot start a second job. NULLs (old rows) never collide.
        Index("uq_job_interaction_id", "interaction_id", unique=True),
    )

    id: str = Field(default_factory=new_job_id, primary_key=True, max_length=32)
    guild_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))
    channel_id: int = Field(sa_column=_id_column())
    user_id: int = Field(sa_column=_id_column())

    mode: str
    provider: str
    prompt: str | None  # None once the member erased their history
    aspect_ratio: str | None = None  # None: follows the image
    duration: int
    resolution: str
    seed: int
    image_url: str | None = None
    cost: int
    upload_limit: int  # bytes Discord accepts in this channel, from the interaction
    parent_job_id: str | None = None  # set on re-rolls, and on extensions (the clip extended)
    # What only the process that received the interaction knew, for any process that posts
    # later. None on rows from before they were stored.
    interaction_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))
    member_locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # The language of its public posts: the server's choice, else its preferred locale.
    guild_locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # The result goes to the requester by direct message (the channel when their DMs are
    # closed); the status message stays in the channel.
    deliver_dm: bool = False
    # Provider failover (0007_failover): the providers this job may move to when its own
    # refuses it in a way that proves no job was created, in order ("" or None: none; the
    # member chose the provider, or the server's rules allow no other). Once moved: the
    # provider that refused it and why ("key", "credit" or "unreachable").
    failover_providers: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True)
    )
    failover_from: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    failover_reason: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # Extend (bot.core.extend): set on a job made from the last frame of another job's video.
    # None on every other job.
    chain_root_id: str | None = Field(default=None, max_length=32)  # the chain's first clip
    chain_length: int | None = None  # clips in the chain up to and including this one
    chain_seconds: float | None = None  # seconds of those clips (planned; measured once joined)
    join_state: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    join_message_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))

    state: JobState = Field(default=JobState.ACCEPTED, sa_column=enum_column(JobState))
    provider_job_id: str | None = None
    status_message_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))
    result_message_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))
    queue_position: int | None = None  # last position reported by the provider
    video_url: str | None = None
    nsfw: bool = False
    error: str | None = None  # the reason shown to the member
    refunded: bool = False
    channel_nsfw: bool = False  # the channel was age-restricted when the member asked
    # The member's quota terms when they asked (approval mode charges on approval, with these).
    quota_limit: int | None = None
    quota_daily: bool = False
    review_message_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))
    # The channel the review message was posted in (the server's review channel may change
    # before a moderator decides). None on older rows: the server's current one.
    review_channel_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))
    moderator_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))
    result_deleted: bool = False
    # Written and committed just before the paid POST: a SUBMITTING job without it sent nothing.
    submit_attempted_at: float | None = None
    # The provider asked us to wait (429, or it could not be reached): the next try, shown.
    submit_retry_at: float | None = None
    # The status message shows the final state (or there is none to update).
    final_shown: bool = False

    created_at: float = Field(default_factory=time.time)
    submitted_at: float | None = None
    started_at: float | None = None  # when the provider started running it
    finished_at: float | None = None
    updated_at: float = Field(default_factory=time.time)

    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: float | None = None
    # Raised each time the lease moves to another process (0009_lease_epoch): with the owner,
    # the fencing token a driver carries (`bot.core.jobs.fence`).
    lease_epoch: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )


class LedgerKind(StrEnum):
    RESERVE = "reserve"  # +cost when a job is accepted
    COMMIT = "commit"  # 0: the job delivered, the reservation stands
    REFUND = "refund"  # -cost: the job produced no video
    GRANT = "grant"  # -n: an admin gave extra quota


class LedgerEntry(SQLModel, table=True):
    """Quota is a ledger: a member's usage is the sum of amounts counted in the window."""

    __tablename__ = "quota_ledger"
    __table_args__ = (
        Index("ix_ledger_member_counted", "guild_id", "user_id", "counted_at"),
        # A server's spend today, for its daily budget (0008_quota_fast).
        Index("ix_ledger_guild_counted", "guild_id", "counted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))
    user_id: int = Field(sa_column=_id_column())
    job_id: str | None = Field(default=None, foreign_key="job.id", max_length=32)
    kind: LedgerKind = Field(sa_column=enum_column(LedgerKind))
    amount: int
    # The time the amount counts at: a refund counts at its reservation's time, so it leaves the
    # rolling window together with it.
    counted_at: float
    created_at: float = Field(default_factory=time.time)
    note: str | None = None
    actor_id: int | None = Field(default=None, sa_column=_id_column(nullable=True))


class Member(SQLModel, table=True):
    """One row per member: the lock that serializes a member's check-and-spend on PostgreSQL."""

    __tablename__ = "member"

    guild_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    created_at: float = Field(default_factory=time.time)
