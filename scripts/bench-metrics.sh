#!/usr/bin/env bash
# The metrics benchmark with its peers: installs DuckDB from PyPI when missing, starts a
# throwaway PostgreSQL 15, runs `mikawaya-bench metrics` (release build), stops PostgreSQL.
# MIKAWAYA_BENCH_ACCOUNTS=2000 makes a quick small run.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import duckdb' 2>/dev/null ||
  pip install duckdb 2>/dev/null || pip install --break-system-packages duckdb
dir=$(mktemp -d)
port=${PG_PORT:-55434}
trap 'scripts/postgres.sh stop "$dir"; rm -rf "$dir"' EXIT
export MIKAWAYA_BENCH_PG=$(scripts/postgres.sh start "$dir" "$port")
cargo run --release -q -p mikawaya-bench -- metrics
