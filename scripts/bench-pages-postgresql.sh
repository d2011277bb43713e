#!/usr/bin/env bash
# The web pages at 100,000 accounts served from PostgreSQL: starts a throwaway PostgreSQL 15
# (fsync on), runs `mikawaya-bench pages` with the store copied there, stops PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
port=${PG_PORT:-55435}
trap 'scripts/postgres.sh stop "$dir"; rm -rf "$dir"' EXIT
export MIKAWAYA_BENCH_PG=$(scripts/postgres.sh start "$dir" "$port")
cargo run --release -q -p mikawaya-bench -- pages
