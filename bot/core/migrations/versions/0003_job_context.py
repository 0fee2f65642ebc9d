"""What only the process that received an interaction knew, stored on the job for any process
that posts later: the member's and the server's locale, the interaction id (unique, so a
duplicated delivery cannot start two jobs) and the review message's channel. Existing rows get
NULLs: they were started before any of it was kept.

Revision ID: 0003_job_context
Revises: 0002_job_timing
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_job_context"
down_revision: str | None = "0002_job_timing"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column("job", sa.Column("interaction_id", sa.BigInteger(), nullable=True))
    op.add_column("job", sa.Column("member_locale", sa.String(16), nullable=True))
    op.add_column("job", sa.Column("guild_locale", sa.String(16), nullable=True))
    op.add_column("job", sa.Column("review_channel_id", sa.BigInteger(), nullable=True))
    # A unique index, not a table constraint: SQLite cannot add a constraint to an existing
    # table without rebuilding it. Both databases let NULL appear in it any number of times.
    op.create_index("uq_job_interaction_id", "job", ["interaction_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_job_interaction_id", table_name="job")
    for column in ("review_channel_id", "guild_locale", "member_locale", "interaction_id"):
        op.drop_column("job", column)
