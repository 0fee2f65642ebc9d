"""PostgreSQL: a new job stored with its checks in one call to the server.

Until now a request on PostgreSQL took the member's lock in one statement, then read the
figures and inserted the rows in a second, then committed: the lock was held across two round
trips between the bot and the server, and every other request of the same member (and, with a
daily budget, of the same server) waited that long. `reelbot_store_job` takes the lock, reads
the figures and, only if every limit holds, inserts the job, its ledger entry and its audit
entry, all in one call. Each statement of a PL/pgSQL function reads the rows committed when it
starts (PostgreSQL docs, plpgsql-implementation, and transaction-iso under READ COMMITTED), so
the figures are read after the lock is held, as before.

What may change between releases is a parameter, not a part of the function: the states of an
unfinished job, the ledger kinds counted against a budget, the kind of a reservation. The job's
and the audit entry's columns travel as JSON and are turned into rows by `json_populate_record`
(PostgreSQL docs, functions-json): a job column added later needs nothing here; an audit_log
column added later must be added to the insert below in that migration (a test checks every
column of the audit row the function writes).

SQLite has no such functions and needs none: its write transaction already holds the database's
one write lock from `BEGIN IMMEDIATE`, and there is no server to make round trips to.

Revision ID: 0010_store_job_function
Revises: 0009_lease_epoch
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0010_store_job_function"
down_revision: str | None = "0009_lease_epoch"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_FUNCTION = r"""
CREATE OR REPLACE FUNCTION reelbot_store_job(
    p_guild bigint,              -- NULL: a job outside any server
    p_user bigint,
    p_cost integer,
    p_since double precision,    -- the start of the member's quota window
    p_midnight double precision, -- the start of the server's budget day (UTC)
    p_limit integer,
    p_max_in_flight integer,
    p_budget integer,            -- NULL: no server budget (and the server's row is not locked)
    p_now double precision,
    p_active text[],             -- the states of an unfinished job
    p_spent_kinds text[],        -- the ledger kinds a server's budget counts
    p_reserve_kind text,         -- NULL: the job is held for review and nothing is reserved
    p_job json,
    p_audit json
) RETURNS TABLE (used bigint, in_flight bigint, spent bigint, stored boolean)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- The member's row, then with a budget the server's (user 0): every transaction takes
    -- the two in that order. ON CONFLICT DO UPDATE locks an existing row even when its WHERE
    -- updates nothing (PostgreSQL docs, sql-insert), so no row version is written.
    INSERT INTO member AS m (guild_id, user_id, created_at)
    VALUES (coalesce(p_guild, 0), p_user, p_now)
    ON CONFLICT (guild_id, user_id) DO UPDATE SET created_at = m.created_at WHERE false;
    IF p_budget IS NOT NULL THEN
        INSERT INTO member AS m (guild_id, user_id, created_at)
        VALUES (coalesce(p_guild, 0), 0, p_now)
        ON CONFLICT (guild_id, user_id) DO UPDATE SET created_at = m.created_at WHERE false;
    END IF;

    -- The figures, each from an index range (ix_ledger_member_counted, ix_job_user_state,
    -- ix_ledger_guild_counted); a NULL server compared as such, so the indexes still serve.
    spent := 0;
    IF p_guild IS NULL THEN
        SELECT coalesce(sum(amount), 0) INTO used FROM quota_ledger
        WHERE guild_id IS NULL AND user_id = p_user AND counted_at > p_since;
        SELECT count(*) INTO in_flight FROM job
        WHERE guild_id IS NULL AND user_id = p_user AND state = ANY (p_active);
        IF p_budget IS NOT NULL THEN
            SELECT coalesce(sum(amount), 0) INTO spent FROM quota_ledger
            WHERE guild_id IS NULL AND counted_at >= p_midnight AND kind = ANY (p_spent_kinds);
        END IF;
    ELSE
        SELECT coalesce(sum(amount), 0) INTO used FROM quota_ledger
        WHERE guild_id = p_guild AND user_id = p_user AND counted_at > p_since;
        SELECT count(*) INTO in_flight FROM job
        WHERE guild_id = p_guild AND user_id = p_user AND state = ANY (p_active);
        IF p_budget IS NOT NULL THEN
            SELECT coalesce(sum(amount), 0) INTO spent FROM quota_ledger
            WHERE guild_id = p_guild AND counted_at >= p_midnight AND kind = ANY (p_spent_kinds);
        END IF;
    END IF;

    -- Fewer unfinished jobs than the cap, the cost within the quota (usage below 0 counts
    -- as 0) and within the server's budget; else nothing is written.
    stored := in_flight < p_max_in_flight
        AND greatest(used, 0) + p_cost <= p_limit
        AND (p_budget IS NULL OR spent + p_cost <= p_budget);
    IF stored THEN
        INSERT INTO job SELECT * FROM json_populate_record(NULL::job, p_job);
        IF p_reserve_kind IS NOT NULL THEN
            INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, amount, counted_at,
                                      created_at)
            VALUES (p_guild, p_user, p_job ->> 'id', p_reserve_kind, p_cost, p_now, p_now);
        END IF;
        INSERT INTO audit_log (guild_id, at, action, user_id, moderator_id, job_id, prompt,
                               options, provider, cost, reason, forwarded)
        SELECT guild_id, at, action, user_id, moderator_id, job_id, prompt,
               options, provider, cost, reason, forwarded
        FROM json_populate_record(NULL::audit_log, p_audit);
    END IF;
    RETURN NEXT;
END
$$
"""

_SIGNATURE = (
    "reelbot_store_job(bigint, bigint, integer, double precision, double precision, integer, "
    "integer, integer, double precision, text[], text[], text, json, json)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
