"""Provider failover: the providers a job may move to when its own refuses it before creating
it (and, once moved, which refused it and why), and the per-server switch, on by default.
Existing jobs get NULLs (no failover: they were started before it existed); existing servers
get failover on.

Revision ID: 0007_failover
Revises: 0006_preferences
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_failover"
down_revision: str | None = "0006_preferences"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column("job", sa.Column("failover_providers", sa.String(64), nullable=True))
    op.add_column("job", sa.Column("failover_from", sa.String(32), nullable=True))
    op.add_column("job", sa.Column("failover_reason", sa.String(16), nullable=True))
    op.add_column(
        "guild_config",
        sa.Column("failover", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("guild_config", "failover")
    for column in ("failover_reason", "failover_from", "failover_providers"):
        op.drop_column("job", column)
