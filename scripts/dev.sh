#!/usr/bin/env bash
# Keel's main job on one machine: tools ready, PostgreSQL and the Temporal dev
# server up, migrations applied, the worker connected. Ctrl-C stops everything
# this script started.
#
# KEEL_TEMPORAL_PORT     dev server gRPC port (default 7233)
# KEEL_TEMPORAL_UI_PORT  dev server UI port (default 8233)
# TEMPORAL_ADDRESS       use this Temporal server instead of starting one
# KEEL_DEMO=0            skip the demo directive run at start-up
# MIGRATION_DATABASE_URL / DATABASE_URL  see .env.example
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
keel_bootstrap
deno install --frozen --quiet

export MIGRATION_DATABASE_URL="${MIGRATION_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/keel}"
export DATABASE_URL="${DATABASE_URL:-postgres://keel_app@127.0.0.1:5432/keel}"
temporal_port="${KEEL_TEMPORAL_PORT:-7233}"
ui_port="${KEEL_TEMPORAL_UI_PORT:-8233}"
mkdir -p .data

say() { printf 'keel: %s\n' "$*" >&2; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The keel database, when it is missing on the local cluster.
db_name="${MIGRATION_DATABASE_URL##*/}"
db_name="${db_name%%\?*}"
admin_url="${MIGRATION_DATABASE_URL%/*}/postgres"
if ! psql "$admin_url" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
  say "creating database $db_name"
  psql "$admin_url" -qc "CREATE DATABASE \"$db_name\""
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  say "stopped"
}
trap cleanup INT TERM EXIT

if [ -z "${TEMPORAL_ADDRESS:-}" ]; then
  for port in "$temporal_port" "$ui_port"; do
    if port_taken "$port"; then
      say "port $port on 127.0.0.1 is taken. Stop what uses it, or choose other ports with"
      say "KEEL_TEMPORAL_PORT=<grpc> KEEL_TEMPORAL_UI_PORT=<ui>, or set TEMPORAL_ADDRESS to use a running server."
      exit 1
    fi
  done
  say "starting the Temporal dev server on 127.0.0.1:$temporal_port (state in .data/temporal.db, log in .data/temporal.log)"
  temporal server start-dev --ip 127.0.0.1 --port "$temporal_port" --ui-port "$ui_port" \
    --db-filename .data/temporal.db --log-level warn >.data/temporal.log 2>&1 &
  pids+=($!)
  export TEMPORAL_ADDRESS="127.0.0.1:$temporal_port"
  until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
    if ! kill -0 "${pids[0]}" 2>/dev/null; then
      say "the Temporal dev server exited; see .data/temporal.log"
      exit 1
    fi
    sleep 0.5
  done
  ui_url="http://127.0.0.1:$ui_port"
else
  say "using the Temporal server at $TEMPORAL_ADDRESS"
  ui_url="(the UI of the server at $TEMPORAL_ADDRESS)"
fi

deno task migrate

: >.data/worker.log
deno task worker 2> >(tee -a .data/worker.log >&2) &
pids+=($!)
worker_pid=$!
until grep -q "worker ready and idle" .data/worker.log; do
  if ! kill -0 "$worker_pid" 2>/dev/null; then
    say "the worker exited; see the lines above"
    exit 1
  fi
  sleep 0.5
done
say "Temporal UI: $ui_url"
say "worker connected to $TEMPORAL_ADDRESS"

if [ "${KEEL_DEMO:-1}" = "1" ]; then
  say "running one echo directive through the loop (KEEL_DEMO=0 skips this)"
  bash scripts/demo.sh || say "the demo failed; the worker keeps running"
fi
say "try: deno task keel submit examples/directives/noop.json"
say "     deno task keel list    |    deno task keel --help"
say "press Ctrl-C to stop"
wait "$worker_pid"
