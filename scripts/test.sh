#!/usr/bin/env bash
# Runs every test: installs what the tests need when it is missing, then
# `cargo test --workspace` (extra arguments are passed on), the API suite once more on
# PostgreSQL, then Schemathesis against the served OpenAPI document (scripts/api-fuzz.sh).
#
# - the tracking API's SDK test drives Segment's own Python SDK from PyPI;
# - the differential suite recomputes every metric kind in DuckDB (PyPI);
# - the browser tests drive Debian's headless Chromium through npm's playwright-core
#   (never `npx playwright install`), and write screenshots to target/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tracking API's SDK test drives Segment's own Python SDK from PyPI.
if ! python3 -c "import segment.analytics" >/dev/null 2>&1; then
  echo "== installing segment-analytics-python for the SDK test"
  python3 -m pip install --quiet segment-analytics-python || pip3 install --quiet segment-analytics-python
fi

# The differential suite computes every metric again in DuckDB (PyPI), pinned.
if ! python3 -c "import duckdb, sys; sys.exit(duckdb.__version__ != '1.5.6')" >/dev/null 2>&1; then
  echo "== installing duckdb for the differential suite"
  python3 -m pip install --quiet duckdb==1.5.6 || pip3 install --quiet duckdb==1.5.6
fi

# The browser tests drive Debian's headless Chromium through npm's playwright-core
# (never `npx playwright install`); Japanese fonts make the screenshots legible.
missing_packages=()
[ -x /usr/bin/chromium ] || missing_packages+=(chromium)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing_packages+=(fonts-noto-cjk)
command -v node >/dev/null 2>&1 || missing_packages+=(nodejs npm)
# The PostgreSQL backend's tests start Debian's PostgreSQL 15 server binaries themselves.
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing_packages+=(postgresql-15)
if [ "${#missing_packages[@]}" -gt 0 ]; then
  echo "== installing ${missing_packages[*]} for the browser and PostgreSQL tests"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing_packages[@]}"
fi
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ] || [ ! -d tests/browser/node_modules/oidc-provider ]; then
  echo "== npm ci for the browser tests"
  npm ci --prefix tests/browser --no-audit --no-fund
fi

cargo test --workspace "$@"

# The API suite again on PostgreSQL (the store's behaviour suite runs on both backends in
# the run above); each test gets a new database on a PostgreSQL 15 server the suite starts.
if [ "$#" -eq 0 ]; then
  MIKAWAYA_TEST_STORE=postgresql cargo test -p mikawaya-server --test api
fi

# The security review's API check: the OpenAPI document validates, and Schemathesis finds
# no server error and no answer outside the document as admin, partner and no token
# (skipped when arguments pick some of the Rust tests).
if [ "$#" -eq 0 ]; then
  bash scripts/api-fuzz.sh
fi
