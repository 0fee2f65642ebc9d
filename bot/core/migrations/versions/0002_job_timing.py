"""The learned poller's history: how long jobs took, per provider, mode, duration, resolution.

Revision ID: 0002_job_timing
Revises: 0001_baseline
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_job_timing"
down_revision: str | None = "0001_baseline"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "job_timing",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=False),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("running_at", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.Float(), nullable=False),
        sa.Column("inference_seconds", sa.Float(), nullable=True),
        sa.Column("run_seconds", sa.Float(), nullable=False),
        sa.Column("queue_seconds", sa.Float(), nullable=True),
        sa.Column("recorded_at", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_job_timing_key", "job_timing", ["provider", "mode", "duration", "resolution", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_job_timing_key", table_name="job_timing")
    op.drop_table("job_timing")
