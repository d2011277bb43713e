#!/usr/bin/env bash
# Metric series at 100,000 accounts on the embedded store and on PostgreSQL: starts a
# throwaway PostgreSQL 15 (fsync on), runs `mikawaya-bench series`, stops PostgreSQL.
# MIKAWAYA_BENCH_ACCOUNTS scales the book down for a quick look.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
port=${PG_PORT:-55436}
trap 'scripts/postgres.sh stop "$dir"; rm -rf "$dir"' EXIT
export MIKAWAYA_BENCH_PG=$(scripts/postgres.sh start "$dir" "$port")
cargo run --release -q -p mikawaya-bench -- series
