#!/usr/bin/env bash
# Keel's main job on one machine: tools ready, PostgreSQL and the Temporal dev
# server up, migrations applied, the worker connected. Ctrl-C stops everything
# this script started.
#
# KEEL_TEMPORAL_PORT     dev server gRPC port (default 7233)
# KEEL_TEMPORAL_UI_PORT  dev server UI port (default 8233)
# TEMPORAL_ADDRESS       use this Temporal server instead of starting one
# KEEL_DEMO=0            skip the demo directive run at start-up
# KEEL_PG_PORT           port of the project-local PostgreSQL under .data/pg (default 54329)
# KEEL_HTTP_HOST / KEEL_HTTP_PORT  the HTTP server (default 127.0.0.1:8080)
# MIGRATION_DATABASE_URL / DATABASE_URL  see .env.example; when DATABASE_URL is
#   unset, a project-local database is used: a PostgreSQL cluster under .data/pg
#   when the server binaries are installed, else embedded PGlite under .data/pglite
# KEEL_LOCAL_DB=postgres|pglite  choose the project-local database (default: auto)
#
# Once everything is up it records the running instance in .data/instance.json
# (database URL, Temporal address, HTTP URL, where the dashboard token and the
# decision key are): bin/keel and `deno task keel`/`audit` use it when neither
# DATABASE_URL nor TEMPORAL_ADDRESS is set. A clean stop removes the file.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)

say() { printf 'keel: %s\n' "$*" >&2; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Which database: DATABASE_URL when set, else a cluster of our own under .data.
pg_bin=""
use_pglite=""
if [ -z "${DATABASE_URL:-}" ]; then
  if [ "${KEEL_LOCAL_DB:-auto}" != "pglite" ]; then
    for dir in /usr/lib/postgresql/*/bin; do
      [ -x "$dir/initdb" ] && pg_bin="$dir"
    done
    if [ -z "$pg_bin" ] && command -v initdb >/dev/null 2>&1; then
      pg_bin=$(dirname "$(command -v initdb)")
    fi
  fi
  if [ -z "$pg_bin" ]; then
    if [ "${KEEL_LOCAL_DB:-auto}" = "postgres" ]; then
      say "KEEL_LOCAL_DB=postgres but no PostgreSQL server binaries (initdb, pg_ctl) were found."
      exit 1
    fi
    use_pglite=1
  fi
  export KEEL_SKIP_POSTGRES=1
fi

source scripts/bootstrap.sh
# shellcheck source=scripts/_permissions.sh
source scripts/_permissions.sh
keel_bootstrap
deno install --frozen --quiet
# The worker loads a prebuilt workflow bundle and refuses a missing or stale one.
deno run --quiet -P=bundle src/cli/bundle.ts >&2

temporal_port="${KEEL_TEMPORAL_PORT:-7233}"
ui_port="${KEEL_TEMPORAL_UI_PORT:-8233}"
http_host="${KEEL_HTTP_HOST:-127.0.0.1}"
http_port="${KEEL_HTTP_PORT:-8080}"
pg_port="${KEEL_PG_PORT:-54329}"
mkdir -p .data
instance_file="$root_dir/.data/instance.json"
instance_written=""
# A file left by a run that did not stop cleanly is stale: remove it, unless
# that run is still going (its ports would be taken anyway).
if [ -f "$instance_file" ]; then
  old_pid=$(sed -n 's/^ *"pid": *\([0-9][0-9]*\).*/\1/p' "$instance_file")
  if [ -n "$old_pid" ] && [ "$old_pid" != "$$" ] &&
    tr '\0' ' ' <"/proc/$old_pid/cmdline" 2>/dev/null | grep -q 'scripts/dev\.sh'; then
    say "scripts/dev.sh already runs this checkout (pid $old_pid, see .data/instance.json); stop it first"
    exit 1
  fi
  rm -f "$instance_file"
fi
export KEEL_ARTIFACT_DIR="${KEEL_ARTIFACT_DIR:-$root_dir/.data/artifacts}"
# Approve, reject and abort are signed with a key the worker, the API and the
# CLI share; locally, one random key kept in .data (reused by the next run).
decision_key_file=""
if [ -z "${KEEL_DECISION_KEY:-}" ]; then
  decision_key_file="$root_dir/.data/decision-key"
  if [ ! -s .data/decision-key ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > .data/decision-key)
  fi
  KEEL_DECISION_KEY="$(cat .data/decision-key)"
  export KEEL_DECISION_KEY
fi

pids=()
pg_started=""
pglite_pid=""
# initdb and postgres refuse to run as root: run them as the postgres user then.
as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  trap - INT TERM EXIT
  # First, so no CLI picks an instance that is going away.
  if [ -n "$instance_written" ]; then rm -f "$instance_file"; fi
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # The database goes last, once nothing can write to it.
  if [ -n "$pglite_pid" ]; then
    kill -TERM "$pglite_pid" 2>/dev/null || true
    wait "$pglite_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_started" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$root_dir/.data/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  say "stopped"
}
trap cleanup INT TERM EXIT

if [ -n "$pg_bin" ]; then
  pg_dir="$root_dir/.data/pg"
  if port_taken "$pg_port"; then
    say "port $pg_port on 127.0.0.1 (the local PostgreSQL) is taken. Choose another with KEEL_PG_PORT=<port>,"
    say "or set DATABASE_URL and MIGRATION_DATABASE_URL to use a running server."
    exit 1
  fi
  mkdir -p "$pg_dir/run"
  if [ "$(id -u)" = "0" ]; then chown postgres: "$pg_dir" "$pg_dir/run"; fi
  if [ ! -f "$pg_dir/data/PG_VERSION" ]; then
    say "creating a project-local PostgreSQL cluster in .data/pg ($pg_bin)"
    as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust -E UTF8 --no-instructions >"$pg_dir/initdb.log" 2>&1 ||
      { say "initdb failed; see .data/pg/initdb.log"; exit 1; }
  fi
  say "database: project-local PostgreSQL in .data/pg on 127.0.0.1:$pg_port (log in .data/pg/postgres.log)"
  pg_started=1
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/postgres.log" -w -s \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg_dir/run" start >&2 ||
    { say "PostgreSQL did not start; see .data/pg/postgres.log"; exit 1; }
  export MIGRATION_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/keel"
  export DATABASE_URL="postgres://keel_app@127.0.0.1:$pg_port/keel"
elif [ -n "$use_pglite" ]; then
  if port_taken "$pg_port"; then
    say "port $pg_port on 127.0.0.1 (the embedded PGlite) is taken. Choose another with KEEL_PG_PORT=<port>,"
    say "or set DATABASE_URL and MIGRATION_DATABASE_URL to use a running server."
    exit 1
  fi
  say "database: embedded PGlite with pgvector in .data/pglite on 127.0.0.1:$pg_port (no PostgreSQL server binaries found)"
  deno run --quiet -P=pglite src/dev/pglite_server.ts --dir .data/pglite --port "$pg_port" &
  pglite_pid=$!
  until port_taken "$pg_port"; do
    kill -0 "$pglite_pid" 2>/dev/null || { say "PGlite did not start; see the lines above"; exit 1; }
    sleep 0.3
  done
  # PGlite runs one session at a time: every process keeps a pool of one.
  export KEEL_DB_POOL_MAX=1
  export MIGRATION_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  export DATABASE_URL="postgres://keel_app@127.0.0.1:$pg_port/postgres"
else
  export MIGRATION_DATABASE_URL="${MIGRATION_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/keel}"
  say "database: DATABASE_URL (migrations via MIGRATION_DATABASE_URL)"
fi

# The keel database, when it is missing (PGlite has the one it serves).
db_name="${MIGRATION_DATABASE_URL##*/}"
db_name="${db_name%%\?*}"
admin_url="${MIGRATION_DATABASE_URL%/*}/postgres"
if [ -z "$use_pglite" ] &&
  ! psql "$admin_url" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
  say "creating database $db_name"
  psql "$admin_url" -qc "CREATE DATABASE \"$db_name\""
fi

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

deno run --quiet -P=migrate src/cli/migrate.ts

# deno run, not deno task: the pid we signal is then the process itself. The allocator and V8
# settings are the worker task's (deno.json; docs/architecture.md); the read, write and net lists
# follow the configuration (KEEL_ARTIFACT_DIR, KEEL_S3_ENDPOINT, ...).
keel_permission_args worker || exit 1
: >.data/worker.log
MALLOC_ARENA_MAX=2 deno run --quiet -P=worker --v8-flags=--max-semi-space-size=1,--optimize-for-size "${keel_permission_args[@]}" src/worker.ts 2>>.data/worker.log &
pids+=($!)
worker_pid=$!
tail -n +1 -f --pid="$worker_pid" .data/worker.log >&2 &
pids+=($!)
until grep -q "worker ready and idle" .data/worker.log; do
  if ! kill -0 "$worker_pid" 2>/dev/null; then
    say "the worker exited; see the lines above"
    exit 1
  fi
  sleep 0.5
done
say "Temporal UI: $ui_url"
say "worker connected to $TEMPORAL_ADDRESS"

# The HTTP server (dashboard, /healthz, /readyz), once it exists in this checkout.
if [ -f src/server/main.ts ]; then
  if port_taken "$http_port"; then
    say "port $http_port on $http_host (the HTTP server) is taken. Choose another with KEEL_HTTP_PORT=<port>."
    exit 1
  fi
  export KEEL_HTTP_HOST="$http_host" KEEL_HTTP_PORT="$http_port"
  # Every /api route needs a token with a scope; locally, one random admin
  # token (kept in .data so the next run reuses it) lets the dashboard read
  # and approve. Configuration holds only its sha256.
  if [ -z "${KEEL_API_TOKENS:-}" ]; then
    if [ ! -s .data/dev-token ]; then
      (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > .data/dev-token)
    fi
    dev_token="$(cat .data/dev-token)"
    dev_hash="$(printf '%s' "$dev_token" | sha256sum | cut -d' ' -f1)"
    export KEEL_API_TOKENS="local-operator:admin:$dev_hash"
  fi
  # The launcher allows the server to listen on exactly KEEL_HTTP_HOST:KEEL_HTTP_PORT.
  deno run --quiet -P=serve src/server/launch.ts &
  pids+=($!)
  server_pid=$!
  until curl -fsS "http://$http_host:$http_port/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      say "the HTTP server exited; see the lines above"
      exit 1
    fi
    sleep 0.3
  done
  say "dashboard: http://$http_host:$http_port/"
  if [ -n "${dev_token:-}" ]; then
    say "dashboard token (acts as local-operator; paste it in the page's token field): $dev_token"
  fi
fi

# The running instance, for the CLI in another terminal (written whole, then moved into place).
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
absolute() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$root_dir" "$1" ;; esac; }
{
  printf '{\n  "format": 1,\n  "started_by": "scripts/dev.sh",\n  "pid": %s,\n' "$$"
  printf '  "started_at": "%s",\n  "root": %s,\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(json_str "$root_dir")"
  printf '  "database_url": %s,\n' "$(json_str "$DATABASE_URL")"
  if [ -n "${KEEL_DB_POOL_MAX:-}" ]; then printf '  "db_pool_max": %s,\n' "$KEEL_DB_POOL_MAX"; fi
  printf '  "temporal_address": %s,\n' "$(json_str "$TEMPORAL_ADDRESS")"
  case "$ui_url" in http*) printf '  "temporal_ui_url": %s,\n' "$(json_str "$ui_url")" ;; esac
  if [ -n "${server_pid:-}" ]; then
    printf '  "http_url": %s,\n' "$(json_str "http://$http_host:$http_port")"
  fi
  if [ -n "${dev_token:-}" ]; then printf '  "token_file": %s,\n' "$(json_str "$root_dir/.data/dev-token")"; fi
  if [ -n "$decision_key_file" ]; then printf '  "decision_key_file": %s,\n' "$(json_str "$decision_key_file")"; fi
  printf '  "artifact_dir": %s,\n' "$(json_str "$(absolute "$KEEL_ARTIFACT_DIR")")"
  printf '  "policy_file": %s\n}\n' "$(json_str "$(absolute "${KEEL_POLICY_FILE:-policies/default.json}")")"
} >"$instance_file.tmp"
chmod 600 "$instance_file.tmp"
mv "$instance_file.tmp" "$instance_file"
instance_written=1
say "instance recorded in .data/instance.json: bin/keel and deno task keel use it when DATABASE_URL and TEMPORAL_ADDRESS are unset"

if [ "${KEEL_DEMO:-1}" = "1" ]; then
  say "running one echo directive through the loop (KEEL_DEMO=0 skips this)"
  bash scripts/demo.sh || say "the demo failed; the worker keeps running"
fi
say "try, in another terminal of this checkout:"
say "  export PATH=\"$root_dir/bin:\$PATH\""
say "  keel submit examples/directives/noop.json    |    keel list    |    keel --help"
say "press Ctrl-C to stop"
wait "$worker_pid"
