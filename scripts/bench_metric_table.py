"""The chapter-style metric table against DuckDB, on one machine and in one run.

Generates (with DuckDB) a subscription product's usage: 7,321 accounts, 8 event types,
about 9 million events over the first half of 2020; writes it as CSV (what Mikawaya
imports) and Parquet (what DuckDB reads). Then, each from a cold process:

- Mikawaya: `import events` (time, peak memory), then `metrics table` of the 28-day
  counts of the 8 types on 15 weekly dates from the CLI (the log replayed at start),
  then the same through `GET /api/v1/analytics/metric-table` of a running server (and
  the server's peak memory);
- DuckDB: the same table in SQL over the Parquet file;
- PostgreSQL 15 (Debian's server binaries, started here as the `postgres` user on
  127.0.0.1 in a temporary directory, default settings): the CSV loaded with COPY, then
  the same table in SQL, once on a freshly started server and then warm.

The three tables are compared cell by cell. Prints a Markdown table for docs/benchmarks.md.

Usage: python3 scripts/bench_metric_table.py target/release/mikawaya [WORK_DIR]
"""

import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import duckdb

ACCOUNTS = 7321
TYPES = [f"event_{n}" for n in range(8)]
DATES = "DATE '2020-04-07', DATE '2020-07-14'"  # 15 weekly dates
FROM, TO = "2020-04-07", "2020-07-14"
QUERY = f"""
WITH dates AS (SELECT CAST(d AS DATE) AS d FROM generate_series({DATES}, INTERVAL 7 DAY) t(d)),
accounts AS (SELECT DISTINCT account FROM read_parquet('{{parquet}}')),
counts AS (
  SELECT e.account, dates.d, {", ".join(f"count(*) FILTER (WHERE e.event = '{t}') AS {t}" for t in TYPES)}
  FROM read_parquet('{{parquet}}') e JOIN dates
    ON e.ts >= dates.d - INTERVAL 28 DAY AND e.ts < dates.d
  GROUP BY ALL
)
SELECT a.account, dates.d, {", ".join(f"coalesce(c.{t}, 0) AS {t}" for t in TYPES)}
FROM accounts a CROSS JOIN dates LEFT JOIN counts c ON c.account = a.account AND c.d = dates.d
ORDER BY 1, 2
"""


PG_BIN = "/usr/lib/postgresql/15/bin"
PG_PORT = "55439"
PG_QUERY = " ".join(f"""
WITH dates AS (SELECT CAST(d AS DATE) AS d FROM generate_series(DATE '{FROM}', DATE '{TO}', INTERVAL '7 day') t(d)),
accounts AS (SELECT DISTINCT account FROM ev),
counts AS (
  SELECT e.account, dates.d, {", ".join(f"count(*) FILTER (WHERE e.event = '{t}') AS {t}" for t in TYPES)}
  FROM ev e JOIN dates ON e.ts >= dates.d - 28 AND e.ts < dates.d
  GROUP BY e.account, dates.d
)
SELECT a.account, dates.d, {", ".join(f"coalesce(c.{t}, 0) AS {t}" for t in TYPES)}
FROM accounts a CROSS JOIN dates LEFT JOIN counts c ON c.account = a.account AND c.d = dates.d
ORDER BY 1, 2""".split())


def postgres_table(work):
    """PostgreSQL running the table: (COPY seconds, cold seconds, warm seconds, rows)."""
    home = tempfile.mkdtemp(prefix="bench-pg-")
    shutil.chown(home, "postgres", "postgres")
    data = os.path.join(home, "db")
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U", "bench"],
                   check=True, capture_output=True)
    control = [*as_pg, f"{PG_BIN}/pg_ctl", "-D", data, "-l", os.path.join(home, "log"), "-w",
               "-o", f"-p {PG_PORT} -k {home} -c listen_addresses=127.0.0.1"]
    env = dict(os.environ, PGTZ="UTC")
    psql = ["psql", "-h", "127.0.0.1", "-p", PG_PORT, "-U", "bench", "-d", "postgres", "-q",
            "-v", "ON_ERROR_STOP=1"]

    def run(command):
        start = time.perf_counter()
        subprocess.run([*psql, "-c", command], check=True, capture_output=True, env=env)
        return time.perf_counter() - start

    subprocess.run([*control, "start"], check=True, capture_output=True)
    try:
        run("CREATE TABLE ev (account text, user_id text, event text, ts timestamptz, message_id text)")
        load_s = run(f"\\copy ev FROM '{work}/events.csv' WITH (FORMAT csv, HEADER true)")
        load_s += run("ANALYZE ev")
        subprocess.run([*control, "restart"], check=True, capture_output=True)
        out = f"{work}/postgres.csv"
        cold_s = run(f"\\copy ({PG_QUERY}) TO '{out}' WITH (FORMAT csv)")
        warm_s = min(run(f"\\copy ({PG_QUERY}) TO '{out}' WITH (FORMAT csv)") for _ in range(3))
        with open(out, newline="") as f:
            rows = {(r[0], r[1]): [float(v) for v in r[2:]] for r in csv.reader(f)}
    finally:
        subprocess.run([*control, "stop", "-m", "fast"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    return load_s, cold_s, warm_s, rows


def quiet(connection):
    """No progress bar on the standard output (it would mix with the rows)."""
    connection.execute("SET enable_progress_bar = false")
    return connection


def timed(args, env=None):
    """Runs a command under /usr/bin/time: (seconds, peak MiB, stdout)."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return seconds, peak_kib / 1024, done.stdout


def main():
    binary = os.path.abspath(sys.argv[1])
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="bench-table-")
    os.makedirs(work, exist_ok=True)
    data_dir = os.path.join(work, "data")
    parquet = os.path.join(work, "events.parquet")
    env = dict(os.environ, MIKAWAYA_DATA_DIR=data_dir, MIKAWAYA_LOCALE="en", RUST_LOG="warn")

    generate = quiet(duckdb.connect())
    generate.execute("SELECT setseed(0.42)")
    generate.execute(
        f"""CREATE TABLE ev AS
        SELECT 'A' || lpad(CAST(a AS VARCHAR), 5, '0') AS account,
               'u' || CAST(a * 20 + CAST(random() * 12 AS INT) AS VARCHAR) AS user_id,
               'event_' || CAST(least(7, CAST(floor(-ln(random()) * 2.2) AS INT)) AS VARCHAR) AS event,
               TIMESTAMP '2020-01-01' + to_seconds(CAST(random() * 182 * 86400 AS BIGINT)) AS ts
        FROM range({ACCOUNTS}) t(a), LATERAL range(1 + CAST(hash(a) % 2450 AS BIGINT)) r(i)"""
    )
    events = generate.execute("SELECT count(*) FROM ev").fetchone()[0]
    generate.execute(f"COPY ev TO '{parquet}' (FORMAT parquet)")
    generate.execute(
        f"""COPY (SELECT account AS account_id, user_id, event,
                   strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS timestamp,
                   'm' || CAST(row_number() OVER () AS VARCHAR) AS message_id FROM ev)
            TO '{work}/events.csv' (HEADER)"""
    )
    generate.execute(
        f"""COPY (SELECT DISTINCT account AS external_id, account AS name FROM ev ORDER BY 1)
            TO '{work}/accounts.csv' (HEADER)"""
    )
    generate.close()

    subprocess.run([binary, "import", "accounts", f"{work}/accounts.csv"], env=env, check=True, capture_output=True)
    import_s, import_mib, _ = timed([binary, "import", "events", f"{work}/events.csv"], env)
    for t in TYPES:
        subprocess.run(
            [binary, "metrics", "define", "--name", t, "--kind", "count", "--event", t],
            env=env, check=True, capture_output=True,
        )
    names = ",".join(TYPES)
    table = f"{work}/table.csv"
    cli_s, cli_mib, _ = timed(
        [binary, "metrics", "table", "--names", names, "--from", FROM, "--to", TO, "--out", table], env
    )

    token = subprocess.run(
        [binary, "token", "create", "--name", "bench", "--scope", "admin"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:18091"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready_from = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen("http://127.0.0.1:18091/healthz", timeout=1)
                break
            except OSError:
                if time.perf_counter() - ready_from > 600:
                    sys.exit("the server did not start")
                time.sleep(0.2)
        ready_s = time.perf_counter() - ready_from
        request = urllib.request.Request(
            f"http://127.0.0.1:18091/api/v1/analytics/metric-table?names={names}&from={FROM}&to={TO}",
            headers={"Authorization": f"Bearer {token}"},
        )
        api_runs = []
        for _ in range(3):
            start = time.perf_counter()
            body = urllib.request.urlopen(request, timeout=600).read()
            api_runs.append(time.perf_counter() - start)
        with open(f"/proc/{server.pid}/status") as status:
            server_mib = next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) / 1024
    finally:
        server.terminate()
        server.wait()
    api_s = min(api_runs)

    duck_s, duck_mib, duck_out = timed(
        [sys.executable, "-c",
         "import duckdb, sys, csv; w = csv.writer(sys.stdout); c = duckdb.connect(); "
         "c.execute('SET enable_progress_bar = false'); "
         f"[w.writerow(r) for r in c.execute({QUERY.format(parquet=parquet)!r}).fetchall()]"]
    )

    # DuckDB warm: the events already in its memory, best of 3 (what a running server is
    # compared with).
    warm_db = quiet(duckdb.connect())
    warm_db.execute(f"CREATE TABLE ev AS SELECT * FROM read_parquet('{parquet}')")
    warm_runs = []
    for _ in range(3):
        start = time.perf_counter()
        warm_db.execute(QUERY.format(parquet=parquet).replace(f"read_parquet('{parquet}')", "ev")).fetchall()
        warm_runs.append(time.perf_counter() - start)
    warm_s = min(warm_runs)
    warm_db.close()

    ours = {}
    with open(table, newline="") as f:
        for row in csv.DictReader(f):
            ours[(row["external_id"], row["date"])] = [float(row[t]) for t in TYPES]
    if body.decode() != open(table).read():
        sys.exit("the API's table differs from the CLI's")
    theirs = {}
    for row in csv.reader(duck_out.splitlines()):
        if len(row) != 2 + len(TYPES):
            continue
        theirs[(row[0], row[1])] = [float(v) for v in row[2:]]
    if ours != theirs:
        differing = [k for k in theirs if ours.get(k) != theirs[k]][:5]
        sys.exit(f"the tables differ ({len(ours)} vs {len(theirs)} rows), e.g. {differing}")
    pg_load_s, pg_cold_s, pg_warm_s, pg_rows = postgres_table(work)
    if ours != pg_rows:
        differing = [k for k in pg_rows if ours.get(k) != pg_rows[k]][:5]
        sys.exit(f"PostgreSQL's table differs ({len(ours)} vs {len(pg_rows)} rows), e.g. {differing}")
    cells = len(ours) * len(TYPES)

    print(f"{events} events, {len(ours)} account-dates, {cells} cells: Mikawaya's table equals DuckDB's and PostgreSQL's\n")
    print("| measurement | time | peak memory | vs DuckDB |")
    print("|---|---|---|---|")
    print(f"| DuckDB {duckdb.__version__}: the table in SQL over Parquet, cold process | {duck_s:.2f} s | {duck_mib:.0f} MiB | 1 |")
    print(f"| `mikawaya metrics table`, cold CLI (reads the rollups' snapshot, then one pass) | {cli_s:.2f} s | {cli_mib:.0f} MiB | {cli_s / duck_s:.2f}× |")
    print(f"| DuckDB, warm: the events already in memory (best of 3) | {warm_s:.2f} s | | {warm_s / duck_s:.2f}× |")
    print(f"| `GET /api/v1/analytics/metric-table` on a running server (best of 3) | {api_s:.2f} s | server {server_mib:.0f} MiB | {api_s / duck_s:.2f}× ({api_s / warm_s:.2f}× warm DuckDB) |")
    print(f"| `mikawaya import events` of the CSV ({os.path.getsize(f'{work}/events.csv') / 2**20:.0f} MiB) | {import_s:.1f} s | {import_mib:.0f} MiB | |")
    print(f"| server start to ready on that history | {ready_s:.1f} s | | |")
    print(f"| PostgreSQL 15: the table in SQL, freshly started server | {pg_cold_s:.2f} s | | {pg_cold_s / duck_s:.2f}× |")
    print(f"| PostgreSQL 15, warm (best of 3) | {pg_warm_s:.2f} s | | {pg_warm_s / duck_s:.2f}× |")
    print(f"| PostgreSQL 15: COPY of the CSV and ANALYZE | {pg_load_s:.1f} s | | |")


if __name__ == "__main__":
    main()
