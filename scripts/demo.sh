#!/usr/bin/env bash
# One echo directive through the whole loop with the CLI: submit, approve,
# watch it complete, print its ledger. Needs a running worker (scripts/dev.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

keel() { deno task --quiet keel "$@"; }

key="demo-$(date +%Y%m%dT%H%M%S)-$RANDOM"
document=$(cat <<JSON
{
  "type": "echo",
  "issued_by": "demo@keel.local",
  "objective": "Show one directive going through the control loop",
  "scope": ["sandbox"],
  "success_metrics": ["the echo artifact equals the payload"],
  "budget": { "amount": "1.00", "currency": "USD" },
  "timebox": "1m",
  "payload": { "message": "hello from scripts/demo.sh" },
  "idempotency_key": "$key"
}
JSON
)

echo "\$ keel submit - --detach   (an echo directive, key $key)"
id=$(printf '%s' "$document" | keel submit - --detach | head -n 1)
echo "$id"
echo "\$ keel approve $id --reason 'demo: payload checked'"
# Separation of duties: the approver is not the submitter (demo@keel.local, the issuer).
keel approve "$id" --reason "demo: payload checked" --actor "demo-reviewer@keel.local"
echo "\$ keel watch $id"
keel watch "$id"
echo "\$ keel history $id"
keel history "$id"
