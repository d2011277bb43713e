#!/usr/bin/env bash
# The several-nodes benchmark (`mikawaya-bench nodes`) on a throwaway PostgreSQL.
exec "$(dirname "$0")/bench-with-postgres.sh" nodes 55434
