#!/usr/bin/env bash
# Makes Keel's tools available; idempotent, and it says what it found or did.
#   Deno 2.9.x: on PATH, else in the cache, else installed there from the npm registry.
#   Temporal CLI: on PATH, else in the cache, else built there with `go install`.
#   PostgreSQL: the system cluster on 127.0.0.1:5432, started when it is down.
# Source it (`source scripts/bootstrap.sh`) to get the tools on PATH; running it
# directly checks and installs only. Nothing is written inside the checkout.
#
# KEEL_CACHE_DIR   where tools are cached (default: ~/.cache/keel)
# KEEL_SKIP_POSTGRES=1  do not check or start the system PostgreSQL

keel_cache="${KEEL_CACHE_DIR:-$HOME/.cache/keel}"
keel_deno_version="2.9.6"
keel_temporal_module="github.com/temporalio/cli/cmd/temporal"
keel_temporal_version="v1.5.1"

keel_say() { printf 'bootstrap: %s\n' "$*" >&2; }

keel_need_deno() {
  if command -v deno >/dev/null 2>&1 && deno --version 2>/dev/null | grep -q '^deno 2\.'; then
    keel_say "deno found on PATH: $(deno --version | head -n 1)"
    return 0
  fi
  local cached="$keel_cache/deno/node_modules/.bin"
  if [ -x "$cached/deno" ] && "$cached/deno" --version >/dev/null 2>&1; then
    export PATH="$cached:$PATH"
    keel_say "deno found in cache: $(deno --version | head -n 1)"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    keel_say "deno is missing and npm is not installed: install Node.js/npm, or Deno $keel_deno_version, then retry"
    return 1
  fi
  keel_say "installing deno@$keel_deno_version from the npm registry into $keel_cache/deno"
  mkdir -p "$keel_cache/deno"
  npm install --silent --no-audit --no-fund --prefix "$keel_cache/deno" "deno@$keel_deno_version" >&2 || {
    keel_say "npm install deno@$keel_deno_version failed"
    return 1
  }
  export PATH="$cached:$PATH"
  keel_say "installed: $(deno --version | head -n 1)"
}

keel_need_temporal() {
  if command -v temporal >/dev/null 2>&1; then
    keel_say "temporal found on PATH: $(command -v temporal)"
    return 0
  fi
  if [ -x "$keel_cache/bin/temporal" ]; then
    export PATH="$keel_cache/bin:$PATH"
    keel_say "temporal found in cache: $keel_cache/bin/temporal"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    keel_say "the Temporal CLI is missing and Go is not installed. Install Go >= 1.25 and rerun,"
    keel_say "or put a 'temporal' binary on PATH (https://docs.temporal.io/cli)."
    return 1
  fi
  keel_say "building the Temporal CLI $keel_temporal_version with $(go version | cut -d' ' -f3) (takes minutes on 2 cores)"
  mkdir -p "$keel_cache/bin"
  local started=$SECONDS
  if ! GOBIN="$keel_cache/bin" GOFLAGS=-mod=mod go install "$keel_temporal_module@$keel_temporal_version" >&2; then
    keel_say "go install $keel_temporal_module@$keel_temporal_version failed; see docs/decisions/0003_temporal_cli_from_go_modules.md"
    return 1
  fi
  export PATH="$keel_cache/bin:$PATH"
  keel_say "built $keel_cache/bin/temporal in $((SECONDS - started)) s"
}

# The S3-compatible server the artifact tests run against (ADR 0004): built
# from Go modules like the Temporal CLI, cached beside it. Only tests need it.
keel_versitygw_module="github.com/versity/versitygw/cmd/versitygw"
keel_versitygw_version="v1.8.0"

keel_need_versitygw() {
  if [ -x "$keel_cache/bin/versitygw" ]; then
    keel_say "versitygw found in cache: $keel_cache/bin/versitygw"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    keel_say "versitygw (the S3 server the tests use) is missing and Go is not installed"
    return 1
  fi
  keel_say "building versitygw $keel_versitygw_version for the S3 artifact tests"
  mkdir -p "$keel_cache/bin"
  local started=$SECONDS
  if ! GOBIN="$keel_cache/bin" GOFLAGS=-mod=mod go install "$keel_versitygw_module@$keel_versitygw_version" >&2; then
    keel_say "go install $keel_versitygw_module@$keel_versitygw_version failed; see docs/decisions/0004_s3_test_server_versitygw.md"
    return 1
  fi
  keel_say "built $keel_cache/bin/versitygw in $((SECONDS - started)) s"
}

# The compose file checker tests/compose_test.ts runs (ADR 0021): a small Go
# program in tools/compose_check that loads docker-compose.yml with compose-go,
# the loader Docker Compose uses, pinned in its go.mod/go.sum. The binary's name
# carries the compose-go version and a hash of the tool's sources, so an edit
# rebuilds it. Sets keel_compose_check_bin.
keel_compose_go_version="v2.16.2"

keel_need_compose_check() {
  local tool
  tool="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools/compose_check" && pwd)" || {
    keel_say "tools/compose_check is missing beside scripts/"
    return 1
  }
  local digest
  digest=$(cat "$tool/go.mod" "$tool/go.sum" "$tool"/*.go | sha256sum | cut -c1-12)
  keel_compose_check_bin="$keel_cache/bin/keel-compose-check-$keel_compose_go_version-$digest"
  if [ -x "$keel_compose_check_bin" ]; then
    keel_say "keel-compose-check found in cache: $keel_compose_check_bin"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    keel_say "keel-compose-check (the compose file checker the tests use) is missing and Go is not installed"
    return 1
  fi
  keel_say "building keel-compose-check with compose-go $keel_compose_go_version"
  mkdir -p "$keel_cache/bin"
  local started=$SECONDS
  if ! (cd "$tool" && go build -buildvcs=false -trimpath -o "$keel_compose_check_bin.tmp" .) >&2; then
    rm -f "$keel_compose_check_bin.tmp"
    keel_say "go build in $tool failed; see docs/decisions/0021_compose_go_validation.md"
    return 1
  fi
  mv "$keel_compose_check_bin.tmp" "$keel_compose_check_bin"
  keel_say "built $keel_compose_check_bin in $((SECONDS - started)) s"
}

# The production-shaped cluster (scripts/cluster.sh, docs/deploy.md): a real
# Temporal server with PostgreSQL persistence and its SQL schema tool, built
# from Go modules (ADR 0020); the schema files are copied from the module.
keel_temporal_server_version="v1.29.1"

keel_need_temporal_server() {
  local dir="$keel_cache/temporal-server-$keel_temporal_server_version"
  if [ -x "$dir/bin/temporal-server" ] && [ -x "$dir/bin/temporal-sql-tool" ] && [ -d "$dir/schema" ]; then
    keel_say "temporal server found in cache: $dir"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    keel_say "the Temporal server (for scripts/cluster.sh) is missing and Go is not installed"
    return 1
  fi
  keel_say "building the Temporal server $keel_temporal_server_version and its SQL tool (about 3 minutes on 2 cores)"
  local started=$SECONDS
  mkdir -p "$dir/bin"
  local gobin="$dir/gobin"
  if ! GOBIN="$gobin" GOFLAGS=-mod=mod go install \
    "go.temporal.io/server/cmd/server@$keel_temporal_server_version" \
    "go.temporal.io/server/cmd/tools/sql@$keel_temporal_server_version" >&2; then
    keel_say "go install go.temporal.io/server@$keel_temporal_server_version failed; see docs/decisions/0020_cluster_from_go_modules.md"
    return 1
  fi
  mv "$gobin/server" "$dir/bin/temporal-server"
  mv "$gobin/sql" "$dir/bin/temporal-sql-tool"
  rmdir "$gobin"
  local src
  src="$(go env GOMODCACHE)/go.temporal.io/server@$keel_temporal_server_version/schema"
  rm -rf "$dir/schema" && cp -r "$src" "$dir/schema" && chmod -R u+w "$dir/schema"
  keel_say "built the Temporal server in $((SECONDS - started)) s"
}

# Jaeger, the trace backend of the cluster. Its go.mod has replace directives,
# so `go install` refuses it; a scratch module takes it as a tool instead.
keel_jaeger_version="v1.75.0"

keel_need_jaeger() {
  local bin="$keel_cache/bin/jaeger-$keel_jaeger_version"
  if [ -x "$bin" ]; then
    keel_say "jaeger found in cache: $bin"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    keel_say "jaeger (the cluster's trace backend) is missing and Go is not installed"
    return 1
  fi
  keel_say "building jaeger $keel_jaeger_version (about 4 minutes on 2 cores)"
  local started=$SECONDS
  local work="$keel_cache/jaeger-build"
  rm -rf "$work" && mkdir -p "$work" "$keel_cache/bin"
  if ! (cd "$work" && go mod init keel.local/jaeger-build >&2 2>/dev/null &&
    GOFLAGS=-mod=mod go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$keel_jaeger_version" >&2 &&
    go build -o "$bin" github.com/jaegertracing/jaeger/cmd/jaeger >&2); then
    keel_say "building jaeger $keel_jaeger_version failed; see docs/decisions/0020_cluster_from_go_modules.md"
    return 1
  fi
  rm -rf "$work"
  keel_say "built $bin in $((SECONDS - started)) s"
}

keel_need_postgres() {
  if [ "${KEEL_SKIP_POSTGRES:-}" = "1" ]; then
    keel_say "skipping the system PostgreSQL check (KEEL_SKIP_POSTGRES=1)"
    return 0
  fi
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
    keel_say "postgres is accepting connections on 127.0.0.1:5432"
    return 0
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    keel_say "starting the system PostgreSQL $version cluster 'main'"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    local tries=0
    until pg_isready -q -h 127.0.0.1 -p 5432; do
      tries=$((tries + 1))
      if [ "$tries" -gt 30 ]; then
        keel_say "postgres did not come up on 127.0.0.1:5432"
        return 1
      fi
      sleep 1
    done
    keel_say "postgres is up on 127.0.0.1:5432"
    return 0
  fi
  keel_say "no PostgreSQL on 127.0.0.1:5432 and no cluster tools to start one: install PostgreSQL or set the URLs in .env.example"
  return 1
}

# Debian's chromium, for tests/dashboard_browser_test.ts (playwright-core drives /usr/bin/chromium).
keel_need_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  keel_say "installing chromium with apt-get (for the dashboard browser test)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium >&2 ||
    { $sudo apt-get update >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium >&2; } || {
    keel_say "could not install chromium: install Debian's chromium package (/usr/bin/chromium)"
    return 1
  }
}

keel_bootstrap() {
  keel_need_deno && keel_need_temporal && keel_need_postgres
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  keel_bootstrap
fi
