# Sourced by the launchers (scripts/dev.sh, and any script that starts a worker,
# API server or prune): the flags a process needs on top of its deno.json
# permission set for the current configuration (an artifact directory outside
# the checkout, an S3 endpoint, a remote database...). See
# docs/decisions/0022_config_schema_and_permissions.md.
#
#   keel_permission_flags worker   # one --allow-* flag per line; nothing if the set suffices
#
# A flag replaces the set's list of its kind, so each printed flag holds the
# set's list plus what the configuration adds. Use it as:
#
#   keel_permission_args worker || exit 1
#   deno run --quiet -P=worker "${keel_permission_args[@]}" src/worker.ts

keel_permission_flags() {
  deno run --quiet -P=permissions src/cli/permissions.ts "$1"
}

# Sets the array keel_permission_args to those flags; fails (naming the bad variable on stderr)
# when the configuration is invalid.
keel_permission_args() {
  local printed
  printed=$(keel_permission_flags "$1") || return 1
  keel_permission_args=()
  if [ -n "$printed" ]; then mapfile -t keel_permission_args <<<"$printed"; fi
}
