#!/usr/bin/env bash
# The whole test suite from a fresh clone: tools, dependencies, then
# `deno task ok` (format check, lint, type check, every test).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
keel_bootstrap
keel_need_versitygw
keel_need_chromium
export KEEL_VERSITYGW_BIN="$keel_cache/bin/versitygw"
deno install --frozen --quiet
exec deno task ok
