"""The server's spend today read from an index range: the daily budget check (every request in
a server with a budget, under its lock) sums the server's ledger entries since midnight, which
the member index (guild, user, counted_at) can only find by reading all of the server's
entries ever made.

Revision ID: 0008_quota_fast
Revises: 0007_failover
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0008_quota_fast"
down_revision: str | None = "0007_failover"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_index("ix_ledger_guild_counted", "quota_ledger", ["guild_id", "counted_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_guild_counted", table_name="quota_ledger")
