#!/usr/bin/env bash
# The ingestion benchmark with its PostgreSQL peer (`mikawaya-bench ingest`).
exec "$(dirname "$0")/bench-with-postgres.sh" ingest 55433
