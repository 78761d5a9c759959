#!/usr/bin/env bash
# Keel in its deployment shape on one machine, no Docker (docs/deploy.md):
#   - a Temporal server 1.29 with PostgreSQL persistence, its two databases owned
#     by a role of its own that is not a superuser, schema applied by its SQL tool;
#   - Keel's database, migrated; N workers on one task queue; 2 API servers;
#   - Jaeger, the trace backend every process exports OTLP traces to.
# Everything runs on 127.0.0.1 from the system PostgreSQL. Ctrl-C (or SIGTERM)
# stops everything it started; the databases stay for the next run.
#
#   scripts/cluster.sh                   start, and stay in the foreground
#   scripts/cluster.sh restart-temporal  restart the Temporal server of a running cluster
#   scripts/cluster.sh --help            this text
#
# KEEL_CLUSTER_DIR         state: config, logs, secrets, cluster.json (default .data/cluster)
# KEEL_CLUSTER_WORKERS     worker processes (default 2)
# KEEL_CLUSTER_PORT_BASE   first of the ports it uses, base..base+21 (default 17200)
# KEEL_CLUSTER_DB_PREFIX   prefix of its databases and of Temporal's role (default keel_cluster_)
# KEEL_CLUSTER_PG_URL      a superuser URL of the PostgreSQL server, used only to create
#                          the roles and databases (default postgres://postgres@127.0.0.1:5432/postgres)
# KEEL_CLUSTER_HISTORY_SHARDS  Temporal history shards, fixed when its database is created (default 4)
#
# When every process is up it writes $KEEL_CLUSTER_DIR/cluster.json: the URLs,
# the ports, each process's pid and the files holding the API token and the
# decision key. It prints "keel cluster: ready" on stderr last.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
say() { printf 'keel cluster: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

state_dir="${KEEL_CLUSTER_DIR:-$root_dir/.data/cluster}"
case "$state_dir" in /*) ;; *) state_dir="$root_dir/$state_dir" ;; esac

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  restart-temporal)
    pid=$(sed -n 's/^ *"supervisor_pid": *\([0-9][0-9]*\).*/\1/p' "$state_dir/cluster.json" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || fail "no running cluster recorded in $state_dir/cluster.json"
    kill -USR1 "$pid"
    say "asked the cluster (pid $pid) to restart its Temporal server"
    exit 0
    ;;
  "") ;;
  *) usage >&2; fail "unknown argument \"$1\" (try --help)" ;;
esac

workers="${KEEL_CLUSTER_WORKERS:-2}"
base="${KEEL_CLUSTER_PORT_BASE:-17200}"
prefix="${KEEL_CLUSTER_DB_PREFIX:-keel_cluster_}"
admin_url="${KEEL_CLUSTER_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
shards="${KEEL_CLUSTER_HISTORY_SHARDS:-4}"
[[ "$workers" =~ ^[1-9][0-9]?$ ]] || fail "KEEL_CLUSTER_WORKERS=\"$workers\" must be a whole number from 1 to 99"
# Temporal stores its membership ports as a PostgreSQL smallint: all must be below 32768.
[[ "$base" =~ ^[0-9]+$ ]] && [ "$base" -ge 1024 ] && [ "$base" -le 32700 ] ||
  fail "KEEL_CLUSTER_PORT_BASE=\"$base\" must be a port from 1024 to 32700 (Temporal keeps its ports as a smallint)"
[[ "$prefix" =~ ^[a-z_][a-z0-9_]{0,30}$ ]] ||
  fail "KEEL_CLUSTER_DB_PREFIX=\"$prefix\" must be lower-case letters, digits and _ (at most 31)"
[[ "$shards" =~ ^[1-9][0-9]{0,3}$ ]] || fail "KEEL_CLUSTER_HISTORY_SHARDS=\"$shards\" must be a whole number from 1 to 9999"

source scripts/bootstrap.sh
keel_bootstrap
keel_need_temporal_server
keel_need_jaeger
temporal_dir="$keel_cache/temporal-server-$keel_temporal_server_version"
jaeger_bin="$keel_cache/bin/jaeger-$keel_jaeger_version"
deno install --frozen --quiet
deno run --quiet -P=bundle src/cli/bundle.ts >&2

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for offset in 0 1 2 3 4 5 6 7 8 10 11 12 13 14 15 20 21; do
  port_taken $((base + offset)) &&
    fail "port $((base + offset)) on 127.0.0.1 is taken: stop what uses it or choose KEEL_CLUSTER_PORT_BASE"
done
frontend=$((base))
jaeger_grpc=$((base + 10))
jaeger_otlp=$((base + 11))
jaeger_ui=$((base + 12))
api_ports=($((base + 20)) $((base + 21)))

mkdir -p "$state_dir/temporal-config" "$state_dir/logs"
chmod 700 "$state_dir"
rm -f "$state_dir/cluster.json"
secret() { # a random hex secret kept in the state dir, reused by the next run
  [ -s "$state_dir/$1" ] || (umask 077 && head -c "$2" /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state_dir/$1")
  cat "$state_dir/$1"
}

# --- PostgreSQL: Temporal's role and databases, Keel's database ---------------
psql_admin() { psql "$admin_url" -v ON_ERROR_STOP=1 -Atq "$@"; }
psql_admin -c 'SELECT 1' >/dev/null || fail "cannot connect to PostgreSQL as a superuser at KEEL_CLUSTER_PG_URL"
temporal_role="${prefix}temporal"
temporal_password=$(secret temporal-db-password 24)
if [ "$(psql_admin -c "SELECT count(*) FROM pg_roles WHERE rolname = '$temporal_role'")" = "0" ]; then
  say "creating role $temporal_role (not a superuser) for the Temporal server"
  # On stdin, so the password is on no command line.
  psql_admin <<<"CREATE ROLE \"$temporal_role\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$temporal_password'"
else
  psql_admin <<<"ALTER ROLE \"$temporal_role\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$temporal_password'"
fi
for db in "${prefix}temporal" "${prefix}temporal_visibility" "${prefix}keel"; do
  if [ "$(psql_admin -c "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = "0" ]; then
    say "creating database $db"
    case "$db" in
      *temporal*) psql_admin -c "CREATE DATABASE \"$db\" OWNER \"$temporal_role\"" ;;
      *) psql_admin -c "CREATE DATABASE \"$db\"" ;;
    esac
  fi
done

# Temporal's schema, applied by its own tool as its own role: setup once, then
# every versioned step not yet applied (update-schema is idempotent).
sql_tool() {
  # The password goes in the environment, not on a command line others can read.
  SQL_PASSWORD="$temporal_password" "$temporal_dir/bin/temporal-sql-tool" --plugin postgres12 \
    --ep 127.0.0.1 -p 5432 -u "$temporal_role" --db "$1" "${@:2}" >>"$state_dir/logs/schema.log" 2>&1
}
for part in temporal visibility; do
  db="${prefix}temporal"
  [ "$part" = visibility ] && db="${prefix}temporal_visibility"
  if [ "$(psql "${admin_url%/*}/$db" -Atqc "SELECT to_regclass('schema_version') IS NOT NULL")" != "t" ]; then
    sql_tool "$db" setup-schema -v 0.0 || fail "setting up the schema of $db failed; see $state_dir/logs/schema.log"
  fi
  sql_tool "$db" update-schema -d "$temporal_dir/schema/postgresql/v12/$part/versioned" ||
    fail "updating the schema of $db failed; see $state_dir/logs/schema.log"
done
say "Temporal schema is current in ${prefix}temporal and ${prefix}temporal_visibility"

cat >"$state_dir/temporal-config/keel.yaml" <<EOF
# Written by scripts/cluster.sh on each start.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: $shards
  datastores:
    default:
      sql: &sql
        pluginName: postgres12
        databaseName: ${prefix}temporal
        connectAddr: 127.0.0.1:5432
        connectProtocol: tcp
        user: $temporal_role
        password: $temporal_password
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        <<: *sql
        databaseName: ${prefix}temporal_visibility
        maxConns: 4
        maxIdleConns: 4
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: { grpcPort: $frontend, httpPort: $((base + 1)), membershipPort: $((base + 2)), bindOnLocalHost: true }
  history:
    rpc: { grpcPort: $((base + 3)), membershipPort: $((base + 4)), bindOnLocalHost: true }
  matching:
    rpc: { grpcPort: $((base + 5)), membershipPort: $((base + 6)), bindOnLocalHost: true }
  worker:
    rpc: { grpcPort: $((base + 7)), membershipPort: $((base + 8)), bindOnLocalHost: true }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:$frontend
dcRedirectionPolicy:
  policy: noop
EOF

cat >"$state_dir/jaeger.yaml" <<EOF
# Written by scripts/cluster.sh on each start: OTLP in, traces kept in memory,
# the query API and UI on 127.0.0.1:$jaeger_ui.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memory_store
    http:
      endpoint: 127.0.0.1:$jaeger_ui
    grpc:
      endpoint: 127.0.0.1:$((base + 13))
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$((base + 14))
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$jaeger_grpc
      http:
        endpoint: 127.0.0.1:$jaeger_otlp
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
EOF

# --- Processes ------------------------------------------------------------------
pids=()
temporal_pid=""
cleanup() {
  # A second Ctrl-C or SIGTERM does not cut the stop short.
  trap '' INT TERM USR1
  trap - EXIT
  rm -f "$state_dir/cluster.json"
  # Keel's processes first, then Temporal, then the trace backend.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$temporal_pid" ]; then
    kill -TERM "$temporal_pid" 2>/dev/null || true
    wait "$temporal_pid" 2>/dev/null || true
  fi
  if [ -n "${jaeger_pid:-}" ]; then
    kill -TERM "$jaeger_pid" 2>/dev/null || true
    wait "$jaeger_pid" 2>/dev/null || true
  fi
  say "stopped"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

"$jaeger_bin" --config "$state_dir/jaeger.yaml" >>"$state_dir/logs/jaeger.log" 2>&1 &
jaeger_pid=$!

start_temporal() {
  "$temporal_dir/bin/temporal-server" --root "$state_dir" --config temporal-config --env keel \
    --allow-no-auth start >>"$state_dir/logs/temporal.log" 2>&1 &
  temporal_pid=$!
  local tries=0
  until temporal operator cluster health --address "127.0.0.1:$frontend" 2>/dev/null | grep -q SERVING; do
    kill -0 "$temporal_pid" 2>/dev/null || fail "the Temporal server exited; see $state_dir/logs/temporal.log"
    tries=$((tries + 1))
    [ "$tries" -le 240 ] || fail "the Temporal server did not serve within 120 s; see $state_dir/logs/temporal.log"
    sleep 0.5
  done
}
say "starting the Temporal server $keel_temporal_server_version on 127.0.0.1:$frontend (log in $state_dir/logs/temporal.log)"
start_temporal
export TEMPORAL_ADDRESS="127.0.0.1:$frontend" TEMPORAL_NAMESPACE=default
if ! temporal operator namespace describe --namespace default --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  say "registering the namespace default"
  temporal operator namespace create --namespace default --retention 72h --address "$TEMPORAL_ADDRESS" >&2
fi
# The frontend answers for a new namespace once its cache has refreshed.
tries=0
until temporal workflow count --namespace default --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -le 120 ] || fail "the namespace default was not usable within 60 s"
  sleep 0.5
done

until curl -fsS "http://127.0.0.1:$((base + 14))/status" >/dev/null 2>&1; do
  kill -0 "$jaeger_pid" 2>/dev/null || fail "jaeger exited; see $state_dir/logs/jaeger.log"
  sleep 0.3
done
say "jaeger takes OTLP on 127.0.0.1:$jaeger_otlp (HTTP) and $jaeger_grpc (gRPC); UI and API on http://127.0.0.1:$jaeger_ui"

export MIGRATION_DATABASE_URL="${admin_url%/*}/${prefix}keel"
export DATABASE_URL="postgres://keel_app@127.0.0.1:5432/${prefix}keel"
export KEEL_ARTIFACT_DIR="$state_dir/artifacts"
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$jaeger_otlp"
export KEEL_DECISION_KEY
KEEL_DECISION_KEY=$(secret decision-key 32)
# Two principals, so that no one approves their own request: an agent that
# submits and reads, and an operator who administers, approves and aborts.
token_hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
agent_token=$(secret agent-token 24)
operator_token=$(secret operator-token 24)
export KEEL_API_TOKENS="cluster-agent:submit+read:$(token_hash "$agent_token"),cluster-operator:admin:$(token_hash "$operator_token")"
mkdir -p "$KEEL_ARTIFACT_DIR"
deno run --quiet -P=migrate src/cli/migrate.ts

# The worker's read, write and net lists follow the configuration (the artifact
# directory under the state directory, the OTLP endpoint); the allocator and V8
# settings are the worker task's (deno.json).
source scripts/_permissions.sh
keel_permission_args worker || fail "the worker's configuration is refused (see above)"
worker_pids=()
for i in $(seq 1 "$workers"); do
  export OTEL_SERVICE_NAME=keel-worker OTEL_RESOURCE_ATTRIBUTES="service.instance.id=worker-$i"
  MALLOC_ARENA_MAX=2 deno run --quiet -P=worker --v8-flags=--max-semi-space-size=1,--optimize-for-size "${keel_permission_args[@]}" src/worker.ts >>"$state_dir/logs/worker-$i.log" 2>&1 &
  pids+=($!)
  worker_pids+=($!)
done
api_pids=()
for i in 1 2; do
  export OTEL_SERVICE_NAME=keel-api OTEL_RESOURCE_ATTRIBUTES="service.instance.id=api-$i"
  # The launcher gives the server the permissions its configuration needs.
  KEEL_HTTP_HOST=127.0.0.1 KEEL_HTTP_PORT="${api_ports[$((i - 1))]}" \
    deno run --quiet -P=serve src/server/launch.ts >>"$state_dir/logs/api-$i.log" 2>&1 &
  pids+=($!)
  api_pids+=($!)
done
for i in $(seq 1 "$workers"); do
  until grep -q "worker ready and idle" "$state_dir/logs/worker-$i.log"; do
    kill -0 "${worker_pids[$((i - 1))]}" 2>/dev/null || fail "worker $i exited; see $state_dir/logs/worker-$i.log"
    sleep 0.3
  done
done
for i in 1 2; do
  until curl -fsS "http://127.0.0.1:${api_ports[$((i - 1))]}/readyz" >/dev/null 2>&1; do
    kill -0 "${api_pids[$((i - 1))]}" 2>/dev/null || fail "API server $i exited; see $state_dir/logs/api-$i.log"
    sleep 0.3
  done
done

write_state() {
  local list
  {
    printf '{\n  "format": 1,\n  "supervisor_pid": %s,\n' "$$"
    printf '  "temporal_address": "%s",\n  "temporal_pid": %s,\n' "$TEMPORAL_ADDRESS" "$temporal_pid"
    printf '  "database_url": "%s",\n' "$DATABASE_URL"
    printf '  "temporal_databases": ["%stemporal", "%stemporal_visibility"],\n' "$prefix" "$prefix"
    printf '  "temporal_role": "%s",\n' "$temporal_role"
    printf '  "jaeger_url": "http://127.0.0.1:%s",\n  "jaeger_pid": %s,\n' "$jaeger_ui" "$jaeger_pid"
    printf '  "otlp_endpoint": "%s",\n' "$OTEL_EXPORTER_OTLP_ENDPOINT"
    list=$(printf '"http://127.0.0.1:%s", ' "${api_ports[@]}")
    printf '  "api_urls": [%s],\n' "${list%, }"
    list=$(printf '%s, ' "${api_pids[@]}")
    printf '  "api_pids": [%s],\n' "${list%, }"
    list=$(printf '%s, ' "${worker_pids[@]}")
    printf '  "worker_pids": [%s],\n' "${list%, }"
    printf '  "logs": "%s/logs",\n' "$state_dir"
    printf '  "artifact_dir": "%s",\n' "$KEEL_ARTIFACT_DIR"
    printf '  "agent_token_file": "%s/agent-token",\n' "$state_dir"
    printf '  "operator_token_file": "%s/operator-token",\n' "$state_dir"
    printf '  "decision_key_file": "%s/decision-key"\n}\n' "$state_dir"
  } >"$state_dir/cluster.json.tmp"
  chmod 600 "$state_dir/cluster.json.tmp"
  mv "$state_dir/cluster.json.tmp" "$state_dir/cluster.json"
}
write_state

restart_temporal() {
  say "restarting the Temporal server (pid $temporal_pid)"
  kill -TERM "$temporal_pid" 2>/dev/null || true
  wait "$temporal_pid" 2>/dev/null || true
  start_temporal
  write_state
  say "the Temporal server is back (pid $temporal_pid)"
}
restart_requested=""
trap 'restart_requested=1' USR1

say "API servers: ${api_ports[*]/#/http://127.0.0.1:} (tokens in $state_dir/agent-token and operator-token)"
say "$workers worker(s) on task queue keel; state in $state_dir/cluster.json"
say "ready"
while :; do
  sleep 1 &
  wait $! 2>/dev/null || true
  if [ -n "$restart_requested" ]; then
    restart_requested=""
    restart_temporal
  fi
done
