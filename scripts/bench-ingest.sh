#!/usr/bin/env bash
# The ingestion benchmark with its PostgreSQL peer: starts a throwaway PostgreSQL 15,
# runs `mikawaya-bench ingest` (release build), stops PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
port=${PG_PORT:-55433}
trap 'scripts/postgres.sh stop "$dir"; rm -rf "$dir"' EXIT
export MIKAWAYA_BENCH_PG=$(scripts/postgres.sh start "$dir" "$port")
cargo run --release -q -p mikawaya-bench -- ingest
