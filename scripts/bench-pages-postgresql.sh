#!/usr/bin/env bash
# The web pages at 100,000 accounts served from PostgreSQL: starts a throwaway PostgreSQL 15
# (fsync on), runs `mikawaya-bench pages` with the store copied there, stops PostgreSQL.
# Statements slower than 50 ms are logged to target/bench-pages-postgresql-slow.log.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
port=${PG_PORT:-55435}
trap 'cp "$dir/log" target/bench-pages-postgresql-slow.log 2>/dev/null || true; scripts/postgres.sh stop "$dir"; rm -rf "$dir"' EXIT
# Assigned before it is exported: `export X=$(…)` would hide a server that failed to start.
MIKAWAYA_BENCH_PG=$(scripts/postgres.sh start "$dir" "$port")
export MIKAWAYA_BENCH_PG
psql "$MIKAWAYA_BENCH_PG" -qc "ALTER SYSTEM SET log_min_duration_statement = 50" -c "SELECT pg_reload_conf()" >/dev/null
cargo run --release -q -p mikawaya-bench -- pages
