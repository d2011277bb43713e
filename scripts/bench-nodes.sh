#!/usr/bin/env bash
# The several-nodes benchmark: starts a throwaway PostgreSQL 15 (fsync on), runs
# `mikawaya-bench nodes` (release build), stops PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
port=${PG_PORT:-55434}
trap 'scripts/postgres.sh stop "$dir"; rm -rf "$dir"' EXIT
export MIKAWAYA_BENCH_PG=$(scripts/postgres.sh start "$dir" "$port")
cargo run --release -q -p mikawaya-bench -- nodes
