#!/usr/bin/env bash
# Runs `mikawaya-bench BENCH` (release build) beside a throwaway PostgreSQL 15 (fsync on,
# 127.0.0.1:PORT), whose connection string it gets in MIKAWAYA_BENCH_PG; stops and removes
# the server afterwards.   scripts/bench-with-postgres.sh BENCH PORT
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:?which benchmark}
port=${PG_PORT:-${2:?port}}
dir=$(mktemp -d)
trap 'scripts/postgres.sh stop "$dir"; rm -rf "$dir"' EXIT
# Assigned before it is exported: `export X=$(…)` would hide a server that failed to start.
MIKAWAYA_BENCH_PG=$(scripts/postgres.sh start "$dir" "$port")
export MIKAWAYA_BENCH_PG
cargo run --release -q -p mikawaya-bench -- "$bench"
