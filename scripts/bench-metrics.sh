#!/usr/bin/env bash
# The metrics benchmark with its peers: installs DuckDB from PyPI when missing, starts a
# throwaway PostgreSQL 15, runs `mikawaya-bench metrics` (release build), stops PostgreSQL.
# MIKAWAYA_BENCH_ACCOUNTS=2000 makes a quick small run.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import duckdb' 2>/dev/null ||
  pip install duckdb 2>/dev/null || pip install --break-system-packages duckdb
exec scripts/bench-with-postgres.sh metrics 55434
