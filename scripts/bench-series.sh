#!/usr/bin/env bash
# Metric series at 100,000 accounts on the embedded store and on PostgreSQL
# (`mikawaya-bench series`). MIKAWAYA_BENCH_ACCOUNTS scales the book down for a quick look.
exec "$(dirname "$0")/bench-with-postgres.sh" series 55436
