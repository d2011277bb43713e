#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 server for benchmarks and tests, as the
# unprivileged user `nobody` (PostgreSQL refuses to run as root), on 127.0.0.1.
#   scripts/postgres.sh start DIR PORT   -> prints the connection string
#   scripts/postgres.sh stop DIR
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
command=${1:?start or stop}
dir=${2:?data folder}
case "$command" in
  start)
    port=${3:?port}
    if [ ! -x "$bin/initdb" ]; then
      apt-get install -y -q postgresql-15 >/dev/null
    fi
    mkdir -p "$dir"
    chown nobody "$dir"
    run() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
    run "$bin/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
    run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-h 127.0.0.1 -p $port -k $dir -c fsync=on" -w start >/dev/null
    echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
    ;;
  stop)
    run() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
    run "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
