"""Lease epochs: a counter on each job, raised whenever its lease moves to another process,
that a driver carries and every fenced write checks with the owner. A lease that leaves a
process and comes back to it (A paused, B took over, B died, A claimed it again) then leaves
A's paused driver with an old epoch, so it can no longer write. Existing jobs start at 0.

Revision ID: 0009_lease_epoch
Revises: 0008_quota_fast
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_lease_epoch"
down_revision: str | None = "0008_quota_fast"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column(
        "job",
        sa.Column("lease_epoch", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("job", "lease_epoch")
