"""Extend: a job made from the last frame of another job's video records that video's job
(`parent_job_id`, already there for re-rolls), the first clip of the chain, the chain's length
and seconds, and whether the chain's joined video is owed or was posted (and where). Existing
rows get NULLs: they are not extensions.

Revision ID: 0005_job_chain
Revises: 0004_guild_locale
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_job_chain"
down_revision: str | None = "0004_guild_locale"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

COLUMNS = ("chain_root_id", "chain_length", "chain_seconds", "join_state", "join_message_id")


def upgrade() -> None:
    op.add_column("job", sa.Column("chain_root_id", sa.String(32), nullable=True))
    op.add_column("job", sa.Column("chain_length", sa.Integer(), nullable=True))
    op.add_column("job", sa.Column("chain_seconds", sa.Float(), nullable=True))
    op.add_column("job", sa.Column("join_state", sa.String(16), nullable=True))
    op.add_column("job", sa.Column("join_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.drop_column("job", column)
