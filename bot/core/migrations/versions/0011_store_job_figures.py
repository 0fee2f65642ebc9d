"""PostgreSQL: `reelbot_store_job` also sends back, on a refusal, the figures the member is shown.

A refused request is explained to the member: the units they have used, when the oldest of
them leaves the quota window and when enough leave it for the request to fit
(`bot.core.quota_figures`). Until now those were read by a second statement in a second
transaction after the refusal: five more round trips between the bot and the server (ROLLBACK,
BEGIN, the statement, ROLLBACK, and the pool's ping) for every refused request. The function
now works them out itself when it refuses, under the lock it already holds, so a request takes
one call whether it is stored or refused, and the call can run in autocommit mode (no BEGIN
or COMMIT either: `bot.core.db.Database.run`).

The two times come from the member's amounts in the window summed per time, read oldest first
(ix_ledger_member_counted), the same figures as `bot.core.quota_figures` reads:
- `first_at`, the earliest time whose amounts sum above 0;
- `fits_at`, the earliest time by which the amounts counted so far, taken off what is used
  (below 0 counts as 0), leave room for the request's cost within the quota.
The loop stops once it has both, which is most often at the first time of the window.

The result's columns change, which `CREATE OR REPLACE` cannot do (PostgreSQL docs,
sql-createfunction): the function is dropped and created again, in this migration's
transaction, so no call sees it missing.

Revision ID: 0011_store_job_figures
Revises: 0010_store_job_function
Create Date: 2026-12-01
"""

from __future__ import annotations

import importlib

from alembic import op

revision: str = "0011_store_job_figures"
down_revision: str | None = "0010_store_job_function"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_SIGNATURE = (
    "reelbot_store_job(bigint, bigint, integer, double precision, double precision, integer, "
    "integer, integer, double precision, text[], text[], text, json, json)"
)

_FUNCTION = r"""
CREATE FUNCTION reelbot_store_job(
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
) RETURNS TABLE (
    used bigint,                 -- the member's amounts in the window (below 0 after a grant)
    in_flight bigint,
    spent bigint,                -- the server's spend today (0 without a budget)
    first_at double precision,   -- refused only: see the migration's notes
    fits_at double precision,    -- refused only
    stored boolean
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_times refcursor;
    v_at double precision;
    v_amount bigint;
    v_freed bigint := 0;
    v_needed bigint;
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
        RETURN NEXT;
        RETURN;
    END IF;

    -- Refused: when the oldest units leave the window, and when enough have left for the
    -- cost to fit, from the window's amounts summed per time, oldest first.
    v_needed := greatest(used, 0) - (p_limit - p_cost);
    IF p_guild IS NULL THEN
        OPEN v_times FOR SELECT counted_at, sum(amount) FROM quota_ledger
            WHERE guild_id IS NULL AND user_id = p_user AND counted_at > p_since
            GROUP BY counted_at ORDER BY counted_at;
    ELSE
        OPEN v_times FOR SELECT counted_at, sum(amount) FROM quota_ledger
            WHERE guild_id = p_guild AND user_id = p_user AND counted_at > p_since
            GROUP BY counted_at ORDER BY counted_at;
    END IF;
    LOOP
        FETCH v_times INTO v_at, v_amount;
        EXIT WHEN NOT FOUND;
        v_freed := v_freed + v_amount;
        IF first_at IS NULL AND v_amount > 0 THEN
            first_at := v_at;
        END IF;
        IF fits_at IS NULL AND v_freed >= v_needed THEN
            fits_at := v_at;
        END IF;
        EXIT WHEN first_at IS NOT NULL AND fits_at IS NOT NULL;
    END LOOP;
    CLOSE v_times;
    RETURN NEXT;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
    op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    previous = importlib.import_module("bot.core.migrations.versions.0010_store_job_function")
    op.execute(f"DROP FUNCTION IF EXISTS {_SIGNATURE}")
    op.execute(previous._FUNCTION)
