#!/usr/bin/env bash
# A node's start on the benchmarks' book (100,000 accounts, about 26 million events) on
# the embedded store and on PostgreSQL, with and without the rollups' snapshot
# (`mikawaya-bench start`). MIKAWAYA_BENCH_ACCOUNTS scales the book down for a quick look.
exec "$(dirname "$0")/bench-with-postgres.sh" start 55437
