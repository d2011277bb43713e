#!/usr/bin/env bash
# A/B of the several-nodes benchmark: builds `mikawaya-bench` at git revision BASE and at
# the working tree, then runs the two builds alternately (ROUNDS rounds, default 3) on one
# throwaway PostgreSQL, so that both see the same machine. This VM's speed varies between
# runs by tens of percent; only rounds run side by side compare.
#   scripts/bench-nodes-ab.sh BASE [http|import|all]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?git revision to compare the working tree with}
which=${2:-all}
builds=$(mktemp -d)
dir=$(mktemp -d)
worktree="$builds/base"
trap 'scripts/postgres.sh stop "$dir"; rm -rf "$dir"; git worktree remove --force "$worktree" 2>/dev/null; rm -rf "$builds"' EXIT
cargo build --release -q -p mikawaya-bench
cp target/release/mikawaya-bench "$builds/new"
git worktree add -q --detach "$worktree" "$base"
# The same target dir: the dependencies are built once (the base's binary then replaces
# the working tree's there; the next build makes it again).
(cd "$worktree" && CARGO_TARGET_DIR="$OLDPWD/target" cargo build --release -q -p mikawaya-bench)
cp target/release/mikawaya-bench "$builds/old"
# Assigned before it is exported: `export X=$(…)` would hide a server that failed to start.
MIKAWAYA_BENCH_PG=$(scripts/postgres.sh start "$dir" "${PG_PORT:-55499}")
export MIKAWAYA_BENCH_PG
export MIKAWAYA_BENCH_NODES=$which
for round in $(seq "${ROUNDS:-3}"); do
  for build in old new; do
    echo "== $build ($([ "$build" = old ] && echo "$base" || echo "working tree")), round $round"
    "$builds/$build" nodes | grep '^| [Hb]'
  done
done
