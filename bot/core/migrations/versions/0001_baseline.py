"""Baseline: the schema of release 0.1.0, on an empty database or completing an older one.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-30

The tables are written out here as 0.1.0's models created them, frozen: later changes to the
models belong in later revisions. A database made before versioned migrations (no
`alembic_version` table) is completed instead of created: missing tables are created, missing
columns added with a default that fills existing rows (typed for the column: `false` on a
PostgreSQL boolean, a number on a float), missing indexes created, and rows that predate a
column backfilled with what they mean for the new code.
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_big = sa.BigInteger
_float = sa.Float
_text = sa.String  # SQLModel's AutoString: VARCHAR without a length
_enum = sa.String(16)  # a non-native Enum of length 16 (bot.core.db.enum_column)


def _tables() -> sa.MetaData:
    m = sa.MetaData()
    sa.Table(
        "job",
        m,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("guild_id", _big(), nullable=True),
        sa.Column("channel_id", _big(), nullable=False),
        sa.Column("user_id", _big(), nullable=False),
        sa.Column("mode", _text(), nullable=False),
        sa.Column("provider", _text(), nullable=False),
        sa.Column("prompt", _text(), nullable=True),
        sa.Column("aspect_ratio", _text(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("resolution", _text(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("image_url", _text(), nullable=True),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("upload_limit", sa.Integer(), nullable=False),
        sa.Column("parent_job_id", _text(), nullable=True),
        sa.Column("state", _enum, nullable=False, info={"fill": "accepted"}),
        sa.Column("provider_job_id", _text(), nullable=True),
        sa.Column("status_message_id", _big(), nullable=True),
        sa.Column("result_message_id", _big(), nullable=True),
        sa.Column("queue_position", sa.Integer(), nullable=True),
        sa.Column("video_url", _text(), nullable=True),
        sa.Column("nsfw", sa.Boolean(), nullable=False),
        sa.Column("error", _text(), nullable=True),
        sa.Column("refunded", sa.Boolean(), nullable=False),
        sa.Column("channel_nsfw", sa.Boolean(), nullable=False),
        sa.Column("quota_limit", sa.Integer(), nullable=True),
        sa.Column("quota_daily", sa.Boolean(), nullable=False),
        sa.Column("review_message_id", _big(), nullable=True),
        sa.Column("moderator_id", _big(), nullable=True),
        sa.Column("result_deleted", sa.Boolean(), nullable=False),
        sa.Column("submit_attempted_at", _float(), nullable=True),
        sa.Column("submit_retry_at", _float(), nullable=True),
        sa.Column("final_shown", sa.Boolean(), nullable=False),
        sa.Column("created_at", _float(), nullable=False, info={"fill": "now"}),
        sa.Column("submitted_at", _float(), nullable=True),
        sa.Column("started_at", _float(), nullable=True),
        sa.Column("finished_at", _float(), nullable=True),
        sa.Column("updated_at", _float(), nullable=False, info={"fill": "now"}),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", _float(), nullable=True),
        sa.Index("ix_job_state_created", "state", "created_at"),
        sa.Index("ix_job_user_state", "guild_id", "user_id", "state"),
    )
    sa.Table(
        "quota_ledger",
        m,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guild_id", _big(), nullable=True),
        sa.Column("user_id", _big(), nullable=False),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("job.id"), nullable=True),
        sa.Column("kind", _enum, nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("counted_at", _float(), nullable=False),
        sa.Column("created_at", _float(), nullable=False, info={"fill": "now"}),
        sa.Column("note", _text(), nullable=True),
        sa.Column("actor_id", _big(), nullable=True),
        sa.Index("ix_ledger_member_counted", "guild_id", "user_id", "counted_at"),
    )
    sa.Table(
        "member",
        m,
        sa.Column("guild_id", _big(), primary_key=True),
        sa.Column("user_id", _big(), primary_key=True),
        sa.Column("created_at", _float(), nullable=False, info={"fill": "now"}),
    )
    sa.Table(
        "guild_config",
        m,
        sa.Column("guild_id", _big(), primary_key=True),
        sa.Column("allowed_channel_ids", sa.JSON(), nullable=False, info={"fill": []}),
        sa.Column("nsfw_channels_only", sa.Boolean(), nullable=False),
        sa.Column("allowed_role_ids", sa.JSON(), nullable=False, info={"fill": []}),
        sa.Column("disabled_providers", sa.JSON(), nullable=False, info={"fill": []}),
        sa.Column("default_provider", _text(), nullable=True),
        sa.Column("daily_budget", sa.Integer(), nullable=True),
        sa.Column("nsfw_policy", _enum, nullable=False, info={"fill": "spoiler"}),
        sa.Column("approval_everywhere", sa.Boolean(), nullable=False),
        sa.Column("approval_channel_ids", sa.JSON(), nullable=False, info={"fill": []}),
        sa.Column("review_channel_id", _big(), nullable=True),
        sa.Column("review_expiry_hours", _float(), nullable=False, info={"fill": 24.0}),
        sa.Column("audit_channel_id", _big(), nullable=True),
        sa.Column("updated_at", _float(), nullable=False, info={"fill": "now"}),
    )
    sa.Table(
        "quota_tier",
        m,
        sa.Column("guild_id", _big(), primary_key=True),
        sa.Column("role_id", _big(), primary_key=True),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("window", _enum, nullable=False, info={"fill": "rolling"}),
        sa.Column("max_duration", sa.Integer(), nullable=False, info={"fill": 10}),
        sa.Column("max_resolution", _text(), nullable=False, info={"fill": "1080P"}),
        sa.Column("providers", sa.JSON(), nullable=False, info={"fill": []}),
    )
    sa.Table(
        "blocked_member",
        m,
        sa.Column("guild_id", _big(), primary_key=True),
        sa.Column("user_id", _big(), primary_key=True),
        sa.Column("reason", _text(), nullable=False),
        sa.Column("blocked_by", _big(), nullable=False),
        sa.Column("blocked_at", _float(), nullable=False, info={"fill": "now"}),
    )
    sa.Table(
        "prompt_rule",
        m,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guild_id", _big(), nullable=False, index=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("pattern", _text(), nullable=False),
        sa.Column("added_by", _big(), nullable=False),
        sa.Column("added_at", _float(), nullable=False, info={"fill": "now"}),
    )
    sa.Table(
        "audit_log",
        m,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guild_id", _big(), nullable=True),
        sa.Column("at", _float(), nullable=False, info={"fill": "now"}),
        sa.Column("action", _enum, nullable=False),
        sa.Column("user_id", _big(), nullable=True),
        sa.Column("moderator_id", _big(), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True, index=True),
        sa.Column("prompt", _text(), nullable=True),
        sa.Column("options", _text(), nullable=True),
        sa.Column("provider", _text(), nullable=True),
        sa.Column("cost", sa.Integer(), nullable=True),
        sa.Column("reason", _text(), nullable=True),
        sa.Column("forwarded", sa.Boolean(), nullable=False),
        sa.Index("ix_audit_guild_at", "guild_id", "at"),
    )
    return m


# Rows that existed before a column was added, set to what they mean for the new code.
BACKFILLS: dict[tuple[str, str], str] = {
    # A job caught in SUBMITTING by an older version may have sent its POST.
    ("job", "submit_attempted_at"): (
        "UPDATE job SET submit_attempted_at = updated_at WHERE state = 'submitting'"
    ),
    # Finished jobs of an older version: do not edit every old status message again.
    ("job", "final_shown"): (
        "UPDATE job SET final_shown = TRUE "
        "WHERE state IN ('delivered', 'failed', 'cancelled', 'unknown', 'rejected')"
    ),
}

# What fills a new NOT NULL column that names no fill of its own, by the column's type.
_ZERO: tuple[tuple[type[sa.types.TypeEngine[Any]], object], ...] = (
    (sa.Boolean, False),
    (sa.Integer, 0),
    (sa.Float, 0.0),
    (sa.String, ""),
)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    present = set(inspector.get_table_names())
    backfills: list[str] = []
    for table in _tables().sorted_tables:
        if table.name not in present:
            table.create(bind)
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in columns:
                _add_column(table.name, column, bind.dialect)
                backfill = BACKFILLS.get((table.name, column.name))
                if backfill is not None:
                    backfills.append(backfill)
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(bind)
    for backfill in backfills:  # once every column they read exists
        op.execute(backfill)


def _add_column(table: str, column: sa.Column[Any], dialect: sa.Dialect) -> None:
    """Add `column` to a table made by an older version; its existing rows get the fill."""
    new = column._copy()
    if not column.nullable:
        new.server_default = sa.DefaultClause(sa.text(_literal(column, dialect)))
    op.add_column(table, new)
    if dialect.name == "postgresql" and not column.nullable:
        # The default only filled the existing rows: the table ends as a new one is made.
        op.alter_column(table, column.name, server_default=None)


def _literal(column: sa.Column[Any], dialect: sa.Dialect) -> str:
    """The column's fill as SQL rendered for its type by the dialect: a boolean is `false` on
    PostgreSQL (which refuses `0`), a float a number (which refuses `''`)."""
    value = column.info.get("fill")
    if value == "now":
        value = time.time()
    elif value is None:
        value = next((zero for kind, zero in _ZERO if isinstance(column.type, kind)), None)
    if value is None:
        raise RuntimeError(f"baseline: no fill for {column.table.name}.{column.name}")
    if isinstance(column.type, sa.JSON):
        literal = sa.literal(json.dumps(value), sa.String())
    else:
        literal = sa.literal(value, column.type)
    return str(literal.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def downgrade() -> None:
    bind = op.get_bind()
    _tables().drop_all(bind)
