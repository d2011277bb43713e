"""Every metric kind, on every date of a range, from Mikawaya and from DuckDB.

Generates a product's history (accounts, subscriptions, usage events with boundary
instants, young accounts and silent ones), loads it into a Mikawaya data dir with the
CLI, defines one metric of every kind, and writes `mikawaya metrics table` for every day
of a range. DuckDB (PyPI `duckdb`) then computes each metric with SQL written from the
definitions in the project's domain notes (the window of the w days before d: events at
t with d - w days <= t < d, d at 00:00 UTC), over the events as `mikawaya events export`
writes them (Parquet) and the subscriptions file. Every cell must agree, and the export
must hold every generated event. Exits 1 and lists the first differences when not.

Usage: metrics_vs_duckdb.py MIKAWAYA_BINARY WORK_DIR [SEED]
"""

import csv
import datetime as dt
import math
import os
import random
import subprocess
import sys

import duckdb

START = dt.date(2026, 1, 1)
DAYS = 151  # Jan 1 to May 31
FIRST_DATE = dt.date(2026, 2, 1)
LAST_DATE = dt.date(2026, 6, 5)
EVENTS = ["Login", "Report Run", "Like", "Dislike"]


def generate(work, seed):
    rng = random.Random(seed)
    accounts = [f"A{n:02}" for n in range(30)]
    with open(os.path.join(work, "accounts.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "name"])
        for a in accounts:
            w.writerow([a, f"Account {a}"])
    subscriptions = []
    for i, a in enumerate(accounts):
        # Some start before the history, some inside it (young accounts), one after it.
        start = START + dt.timedelta(days=rng.randint(-60, 120) if i != 7 else 170)
        end = None
        if rng.random() < 0.3:
            end = start + dt.timedelta(days=rng.randint(20, 150))
        subscriptions.append((a, rng.randint(10, 500), start, end))
        if rng.random() < 0.25:
            later = start + dt.timedelta(days=rng.randint(10, 60))
            subscriptions.append((a, rng.randint(5, 50), later, None))
    with open(os.path.join(work, "subscriptions.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["account_external_id", "plan", "mrr", "start_date", "end_date"])
        for a, mrr, start, end in subscriptions:
            w.writerow([a, "pro", mrr, start.isoformat(), end.isoformat() if end else ""])
    rows = []
    for i, a in enumerate(accounts):
        if i % 10 == 3:
            continue  # silent accounts
        rate = rng.choice([0.2, 1, 3, 6])
        gap_from, gap_to = sorted(rng.sample(range(DAYS), 2))
        for day in range(DAYS):
            if gap_from <= day < gap_to and i % 2 == 0:
                continue  # a quiet spell
            for _ in range(int(rng.expovariate(1 / rate) + 0.5)):
                second = rng.choice([0, 86399, rng.randint(0, 86399)])
                at = dt.datetime.combine(START + dt.timedelta(days=day), dt.time()) + dt.timedelta(
                    seconds=second
                )
                event = rng.choices(EVENTS, weights=[5, 3, 2, 1])[0]
                amount = ""
                if event == "Report Run" and rng.random() < 0.8:
                    amount = rng.randint(0, 100)
                rows.append((a, f"u{rng.randint(0, 5)}", event, at, amount))
    with open(os.path.join(work, "events.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["account_id", "user_id", "event", "timestamp", "message_id", "amount"])
        for n, (a, user, event, at, amount) in enumerate(rows):
            w.writerow([a, user, event, at.strftime("%Y-%m-%dT%H:%M:%SZ"), f"m{n}", amount])
    return len(rows)


# Each metric: its name, the CLI flags that define it in Mikawaya, and the SQL (over the
# grid g(account, d) and the tables ev, subs, first) that computes it from the notes.
def window(where, w, agg="count(ev.ts)", at="g.d"):
    return (
        f"(SELECT {agg} FROM ev WHERE ev.account = g.account AND {where} "
        f"AND ev.ts >= {at} - INTERVAL {w} DAY AND ev.ts < {at})"
    )


def scaled(where, w, period, min_tenure, agg="count(ev.ts)"):
    tenure = "date_diff('day', f.first_day, g.d)"
    span = f"least({tenure}, {w})"
    return (
        f"CASE WHEN f.first_day IS NOT NULL AND {tenure} < {min_tenure} THEN NULL "
        f"ELSE (SELECT coalesce({agg}, 0) FROM ev WHERE ev.account = g.account AND {where} "
        f"AND ev.ts >= g.d - to_days(CAST(coalesce({span}, {w}) AS INTEGER)) AND ev.ts < g.d) "
        f"* {period} / coalesce({span}, {w}) END"
    )


LOGINS = window("ev.event = 'Login'", 28)
LIKES = window("ev.event = 'Like'", 28)
DISLIKES = window("ev.event = 'Dislike'", 28)
# The logins of the window before (pct_change).
LOGINS_BEFORE = window("ev.event = 'Login'", 28, at="(g.d - INTERVAL 28 DAY)")
METRICS = [
    ("logins", ["--kind", "count", "--event", "Login"], LOGINS),
    ("any7", ["--kind", "count", "--event", "*", "--window-days", "7"], window("TRUE", 7)),
    (
        "amount_sum",
        ["--kind", "sum", "--event", "Report Run", "--property", "amount"],
        window("ev.event = 'Report Run'", 28, "coalesce(sum(ev.amount), 0)"),
    ),
    (
        "users14",
        ["--kind", "distinct_users", "--window-days", "14"],
        window("TRUE", 14, "count(DISTINCT ev.user_id)"),
    ),
    ("likes", ["--kind", "count", "--event", "Like"], LIKES),
    ("dislikes", ["--kind", "count", "--event", "Dislike"], DISLIKES),
    ("opinions", ["--kind", "sum_of", "--term", "likes", "--term", "dislikes"], f"{LIKES} + {DISLIKES}"),
    ("net_likes", ["--kind", "sum_of", "--term", "likes", "--term=-dislikes"], f"{LIKES} - {DISLIKES}"),
    (
        "dislike_pct",
        ["--kind", "ratio", "--numerator", "dislikes", "--denominator", "opinions", "--scale", "100"],
        f"CASE WHEN {LIKES} + {DISLIKES} = 0 THEN NULL ELSE 100.0 * {DISLIKES} / ({LIKES} + {DISLIKES}) END",
    ),
    (
        "logins_change",
        ["--kind", "pct_change", "--of", "logins"],
        f"CASE WHEN {LOGINS_BEFORE} = 0 THEN NULL ELSE 100.0 * ({LOGINS} - {LOGINS_BEFORE}) / {LOGINS_BEFORE} END",
    ),
    (
        "since_login",
        ["--kind", "days_since", "--event", "Login"],
        "date_diff('day', (SELECT max(CAST(ev.ts AS DATE)) FROM ev WHERE ev.account = g.account "
        "AND ev.event = 'Login' AND ev.ts < g.d), g.d)",
    ),
    (
        "since_any_through",
        ["--kind", "days_since", "--through-observation-day"],
        "date_diff('day', (SELECT max(CAST(ev.ts AS DATE)) FROM ev WHERE ev.account = g.account "
        "AND CAST(ev.ts AS DATE) <= g.d), g.d)",
    ),
    (
        "reports_pm",
        ["--kind", "per_month", "--event", "Report Run"],
        scaled("ev.event = 'Report Run'", 28, 30, 1),
    ),
    (
        "amount_avg",
        [
            "--kind", "per_period", "--event", "Report Run", "--property", "amount",
            "--window-days", "84", "--period-days", "28", "--min-tenure-days", "14",
        ],
        scaled("ev.event = 'Report Run'", 84, 28, 14, "sum(ev.amount)"),
    ),
    (
        "big_reports",
        ["--kind", "count", "--event", "Report Run", "--where", "amount>=50"],
        window("ev.event = 'Report Run' AND ev.amount >= 50", 28),
    ),
    (
        "tenure",
        ["--kind", "tenure_days"],
        "CASE WHEN f.first_day IS NULL THEN NULL ELSE greatest(date_diff('day', f.first_day, g.d), 0) END",
    ),
    (
        "mrr",
        ["--kind", "mrr"],
        "(SELECT coalesce(sum(s.mrr), 0) FROM subs s WHERE s.account = g.account "
        "AND s.start_date <= g.d AND (s.end_date IS NULL OR g.d < s.end_date))",
    ),
]


def mikawaya(binary, data_dir, *args):
    env = dict(os.environ, MIKAWAYA_DATA_DIR=data_dir, MIKAWAYA_LOCALE="en", RUST_LOG="warn")
    done = subprocess.run([binary, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"mikawaya {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main():
    binary, work = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20260101
    data_dir = os.path.join(work, "data")
    events = generate(work, seed)
    for kind in ["accounts", "subscriptions", "events"]:
        mikawaya(binary, data_dir, "import", kind, os.path.join(work, f"{kind}.csv"))
    for name, flags, _ in METRICS:
        mikawaya(binary, data_dir, "metrics", "define", "--name", name, *flags)
    names = ",".join(name for name, _, _ in METRICS)
    table = os.path.join(work, "table.csv")
    mikawaya(
        binary, data_dir, "metrics", "table", "--names", names,
        "--from", FIRST_DATE.isoformat(), "--to", LAST_DATE.isoformat(), "--every", "1d",
        "--out", table,
    )

    # The events as Mikawaya exports them (Parquet: the account as attributed, the
    # instant in UTC, the properties as JSON text).
    mikawaya(binary, data_dir, "events", "export", "--format", "parquet", work)
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    db.execute(
        f"""CREATE TABLE ev AS SELECT account_id AS account, user_id, event,
            CAST(timestamp AS TIMESTAMP) AS ts,
            TRY_CAST(json_extract_string(properties, '$.amount') AS DOUBLE) AS amount
            FROM read_parquet('{work}/events.parquet')"""
    )
    exported = db.execute("SELECT count(*) FROM ev").fetchone()[0]
    if exported != events:
        sys.exit(f"the export holds {exported} events of the {events} generated")
    db.execute(
        f"""CREATE TABLE subs AS SELECT account_external_id AS account, CAST(mrr AS DOUBLE) AS mrr,
            CAST(start_date AS DATE) AS start_date, TRY_CAST(NULLIF(end_date, '') AS DATE) AS end_date
            FROM read_csv('{work}/subscriptions.csv', header = true, all_varchar = true)"""
    )
    db.execute("CREATE TABLE first AS SELECT account, min(start_date) AS first_day FROM subs GROUP BY account")
    db.execute(
        f"""CREATE TABLE grid AS SELECT a.external_id AS account, CAST(d.d AS DATE) AS d
            FROM read_csv('{work}/accounts.csv', header = true, all_varchar = true) a,
            generate_series(DATE '{FIRST_DATE}', DATE '{LAST_DATE}', INTERVAL 1 DAY) d(d)"""
    )
    columns = ", ".join(f"{sql} AS \"{name}\"" for name, _, sql in METRICS)
    expected = {
        (row[0], row[1].isoformat()): row[2:]
        for row in db.execute(
            f"SELECT g.account, g.d, {columns} FROM grid g LEFT JOIN first f ON f.account = g.account"
        ).fetchall()
    }

    differences, cells = [], 0
    with open(table, newline="") as f:
        reader = csv.DictReader(f)
        seen = 0
        for row in reader:
            seen += 1
            want = expected.get((row["external_id"], row["date"]))
            if want is None:
                differences.append(f"unexpected row {row['external_id']} {row['date']}")
                continue
            for (name, _, _), value in zip(METRICS, want):
                cells += 1
                if row[name].startswith("-0") and float(row[name]) == 0:
                    differences.append(f"{name} {row['external_id']} {row['date']}: written {row[name]}")
                got = None if row[name] == "" else float(row[name])
                value = None if value is None else float(value)
                same = (got is None and value is None) or (
                    got is not None and value is not None and math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-9)
                )
                if not same:
                    differences.append(f"{name} {row['external_id']} {row['date']}: mikawaya {got}, duckdb {value}")
    if seen != len(expected):
        differences.append(f"mikawaya wrote {seen} rows, duckdb {len(expected)}")
    print(
        f"{events} events, {len(METRICS)} metrics, {len(expected)} account-dates: "
        f"{cells} cells compared, {len(differences)} differences"
    )
    for line in differences[:30]:
        print(line)
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
