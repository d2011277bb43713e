#!/usr/bin/env bash
# The security review's API check, with a fixed budget: the served OpenAPI document must
# validate (openapi-spec-validator), and Schemathesis, generating requests from it as an
# admin, as a partner user and with no token, must find no server error (5xx), no
# response outside the document (status, content type, body schema).
#
# Each role gets its own demo data dir (the admin's requests delete and change things).
# The operations that can end the caller's own access (revoking tokens, changing,
# deactivating or deleting users, logging out) run last, in a pass of their own.
#
# One worker: with two, Hypothesis parses lambdas' source on two threads at once, which
# CPython 3.11's AST module does not survive ("AST constructor recursion depth mismatch").
#
# Usage: bash scripts/api-fuzz.sh [MAX_EXAMPLES]   (default 81 per operation and phase)
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-81}"

if ! python3 -c "import schemathesis, openapi_spec_validator" >/dev/null 2>&1; then
  echo "== installing schemathesis and openapi-spec-validator from PyPI"
  python3 -m pip install --quiet "schemathesis==4.32.5" "openapi-spec-validator==0.9.0"
fi
cargo build --quiet -p mikawaya
bin="$PWD/target/debug/mikawaya"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a server on a demo data dir for one role; sets base and token.
start() {
  local role="$1" dir="$work/$1"
  "$bin" --data-dir "$dir" demo --accounts 40 --seed 11 >"$work/$role-demo.log" 2>&1
  case "$role" in
    admin)
      token="$("$bin" --data-dir "$dir" token create --name fuzz --scope admin --user admin@mikawaya.example 2>/dev/null | tail -1)" ;;
    partner)
      token="$("$bin" --data-dir "$dir" token create --name fuzz --scope write --user partner1@mikawaya.example 2>/dev/null | tail -1)" ;;
    anonymous)
      token="" ;;
  esac
  "$bin" --data-dir "$dir" serve --listen 127.0.0.1:0 >"$work/$role-server.log" 2>&1 &
  server_pid=$!
  base=""
  for _ in $(seq 1 100); do
    base="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/$role-server.log" | head -1 || true)"
    [ -n "$base" ] && break
    sleep 0.2
  done
  if [ -z "$base" ]; then cat "$work/$role-server.log"; echo "the server did not start" >&2; exit 1; fi
}

stop() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Runs Schemathesis against the server; extra arguments select operations.
fuzz() {
  local role="$1"; shift
  local auth=()
  [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  st run "$work/openapi.json" --url "$base" "${auth[@]}" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --phases examples,coverage,fuzzing --max-examples "$examples" --seed 20261203 --workers 1 \
    --request-timeout 30 --no-shrink --warnings off --report junit --report-junit-path "target/api-fuzz-$role.xml" "$@"
}

self_harm=(revoke_token change_user deactivate_user delete_user delete_session)
exclude=()
include=()
for id in "${self_harm[@]}"; do exclude+=(--exclude-operation-id "$id"); include+=(--include-operation-id "$id"); done

mkdir -p target
for role in admin partner anonymous; do
  echo "== Schemathesis as $role"
  start "$role"
  if [ "$role" = admin ]; then
    curl -sf -H "Authorization: Bearer $token" "$base/api/v1/openapi.json" >"$work/openapi.json"
    python3 - "$work/openapi.json" <<'PY'
import sys
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename(sys.argv[1])
validate(spec)
print(f"== the OpenAPI document is valid ({len(spec['paths'])} paths)")
PY
  fi
  fuzz "$role" "${exclude[@]}"
  fuzz "$role-last" "${include[@]}"
  stop
done
echo "== Schemathesis found nothing for admin, partner and no token"
