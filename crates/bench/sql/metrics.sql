-- The metrics benchmark's ten metrics, for every account on every daily observation date
-- from {first} to {last}, in plain SQL over the raw events; the same SQL for DuckDB and
-- PostgreSQL but for the few words in braces (filled in by crates/bench/src/metrics.rs).
-- Definitions as in crates/analytics/src/metrics.rs: as of date d the window is the 28
-- days d-28 .. d-1 (UTC). It returns, per metric, the sum of its values and how many are
-- not null, which the benchmark compares with Mikawaya's.
WITH ev AS (
    SELECT account_id, user_id, event, type, CAST("timestamp" AS DATE) AS day, properties
    FROM {events}
),
-- A user's account is the one its group calls put it in (identify and group calls make
-- the user active that day, as in Mikawaya's rollups).
user_account AS (
    SELECT DISTINCT user_id, account_id FROM ev WHERE type = 'group'
),
accounts AS (
    SELECT DISTINCT account_id FROM ev WHERE account_id IS NOT NULL
),
days AS (
    SELECT CAST(d AS DATE) AS day FROM {days}
),
daily AS (
    SELECT account_id, day,
        count(*) FILTER (WHERE event = 'Logged In') AS logins,
        count(*) FILTER (WHERE event = 'Report Created') AS reports,
        count(*) FILTER (WHERE event = 'Dashboard Viewed') AS dashboards,
        count(*) AS events,
        sum({rows}) FILTER (WHERE event = 'Report Exported') AS rows_exported,
        count(*) FILTER (WHERE event = 'Report Exported' AND {format} = 'pdf') AS pdf_exports
    FROM ev
    WHERE type = 'track' AND account_id IS NOT NULL
    GROUP BY account_id, day
),
-- Distinct users in the 28 days before d: a user active on day x counts for d in
-- x+1 .. x+28; runs of such ranges that touch are merged, each run adds 1 where it starts
-- and takes 1 away the day after it ends (both moved up to {start} when earlier, where
-- the grid of days begins: users who joined before it).
user_days AS (
    SELECT DISTINCT ua.account_id, ev.user_id, ev.day
    FROM ev JOIN user_account ua ON ua.user_id = ev.user_id
),
marked AS (
    SELECT account_id, day,
        day - lag(day) OVER (PARTITION BY account_id, user_id ORDER BY day) AS after_previous,
        lead(day) OVER (PARTITION BY account_id, user_id ORDER BY day) - day AS before_next
    FROM user_days
),
deltas AS (
    SELECT account_id, day, sum(delta) AS delta FROM (
        SELECT account_id, greatest(day + 1, DATE '{start}') AS day, 1 AS delta FROM marked
        WHERE after_previous IS NULL OR after_previous > 28
        UNION ALL
        SELECT account_id, greatest(day + 29, DATE '{start}') AS day, -1 AS delta FROM marked
        WHERE before_next IS NULL OR before_next > 28
    ) runs
    GROUP BY account_id, day
),
dense AS (
    SELECT a.account_id, d.day,
        coalesce(x.logins, 0) AS logins,
        coalesce(x.reports, 0) AS reports,
        coalesce(x.dashboards, 0) AS dashboards,
        coalesce(x.events, 0) AS events,
        coalesce(x.rows_exported, 0) AS rows_exported,
        coalesce(x.pdf_exports, 0) AS pdf_exports,
        coalesce(u.delta, 0) AS user_delta
    FROM accounts a
    CROSS JOIN days d
    LEFT JOIN daily x ON x.account_id = a.account_id AND x.day = d.day
    LEFT JOIN deltas u ON u.account_id = a.account_id AND u.day = d.day
),
windows AS (
    SELECT account_id, day,
        sum(logins) OVER w AS logins,
        sum(reports) OVER w AS reports,
        sum(dashboards) OVER w AS dashboards,
        sum(events) OVER w AS events,
        sum(rows_exported) OVER w AS rows_exported,
        sum(pdf_exports) OVER w AS pdf_exports,
        sum(user_delta) OVER (PARTITION BY account_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS users,
        day - max(CASE WHEN events > 0 THEN day END) OVER (
            PARTITION BY account_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS idle_days,
        sum(logins) OVER (
            PARTITION BY account_id ORDER BY day ROWS BETWEEN 56 PRECEDING AND 29 PRECEDING
        ) AS logins_before
    FROM dense
    WINDOW w AS (PARTITION BY account_id ORDER BY day ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING)
),
metrics AS (
    SELECT logins, reports, dashboards, events, rows_exported, pdf_exports, users, idle_days,
        CASE WHEN logins <> 0 THEN 1.0 * reports / logins END AS reports_per_login,
        CASE WHEN logins_before <> 0 THEN 100.0 * (logins - logins_before) / logins_before END AS login_change
    FROM windows
    WHERE day BETWEEN DATE '{first}' AND DATE '{last}'
)
SELECT
    CAST(sum(logins) AS double precision), CAST(count(logins) AS bigint),
    CAST(sum(reports) AS double precision), CAST(count(reports) AS bigint),
    CAST(sum(dashboards) AS double precision), CAST(count(dashboards) AS bigint),
    CAST(sum(events) AS double precision), CAST(count(events) AS bigint),
    CAST(sum(rows_exported) AS double precision), CAST(count(rows_exported) AS bigint),
    CAST(sum(pdf_exports) AS double precision), CAST(count(pdf_exports) AS bigint),
    CAST(sum(users) AS double precision), CAST(count(users) AS bigint),
    CAST(sum(idle_days) AS double precision), CAST(count(idle_days) AS bigint),
    CAST(sum(reports_per_login) AS double precision), CAST(count(reports_per_login) AS bigint),
    CAST(sum(login_change) AS double precision), CAST(count(login_change) AS bigint)
FROM metrics
