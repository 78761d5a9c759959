#!/usr/bin/env bash
# The whole test suite from a fresh clone: tools, dependencies, then
# `deno task ok` (format check, lint, type check, every test).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
keel_bootstrap
keel_need_versitygw
keel_need_chromium
keel_need_compose_check
export KEEL_VERSITYGW_BIN="$keel_cache/bin/versitygw"
export KEEL_COMPOSE_CHECK_BIN="$keel_compose_check_bin"
deno install --frozen --quiet
exec deno task ok
