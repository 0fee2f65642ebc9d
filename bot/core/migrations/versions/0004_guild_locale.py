"""The language a server chose for the bot's public posts (`/reelbot language`). NULL: the
server's own preferred locale, as Discord reports it when a job starts.

Revision ID: 0004_guild_locale
Revises: 0003_job_context
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_guild_locale"
down_revision: str | None = "0003_job_context"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column("guild_config", sa.Column("locale", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("guild_config", "locale")
