"""Remembered preferences: a member's saved defaults per server (`member_preferences`), an
admin's defaults per channel (`channel_defaults`), and whether a job's result goes to its
member by direct message (`job.deliver_dm`; existing rows: no, they were posted in the channel).

Revision ID: 0006_preferences
Revises: 0005_job_chain
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_preferences"
down_revision: str | None = "0005_job_chain"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def _values() -> list[sa.Column[object]]:
    return [
        sa.Column("provider", sa.String(16), nullable=True),
        sa.Column("aspect_ratio", sa.String(8), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(8), nullable=True),
        sa.Column("delivery", sa.String(8), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "member_preferences",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        *_values(),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id"),
    )
    op.create_table(
        "channel_defaults",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        *_values(),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "channel_id"),
    )
    op.add_column(
        "job",
        sa.Column("deliver_dm", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("job", "deliver_dm")
    op.drop_table("channel_defaults")
    op.drop_table("member_preferences")
