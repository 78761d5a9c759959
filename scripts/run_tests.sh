#!/usr/bin/env bash
# Every test file in a process of its own, so one file's native resources
# (Temporal workers, connections) cannot pile up across the suite: in one
# process, dozens of in-process workers ended in a segfault. Type checking is
# `deno task check`'s job, so files run with --no-check. Prints one summary in
# deno test's own format and fails when any file fails or does not load.
#
# With arguments, runs `deno test -P=test` on them as usual.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then exec deno test -P=test "$@"; fi

passed=0
failed=0
broken=()
started=$SECONDS
while IFS= read -r file; do
  log=$(mktemp)
  timeout 1200 deno test -P=test --no-check "$file" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n 1)
  rm -f "$log"
  if [ -z "$summary" ]; then
    failed=$((failed + 1))
    broken+=("$file (no summary, exit $status)")
    continue
  fi
  p=$(printf '%s' "$summary" | sed -E 's/^[A-Z a-z]+\| ([0-9]+) passed.*/\1/')
  f=$(printf '%s' "$summary" | sed -E 's/.*\| ([0-9]+) failed.*/\1/')
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$status" -ne 0 ]; then
    [ "$f" -eq 0 ] && failed=$((failed + 1))
    broken+=("$file (exit $status)")
  fi
done < <(find src tests bench -name '*_test.ts' -not -path '*/fixtures/*' | sort)

for entry in "${broken[@]}"; do echo "failed: $entry" >&2; done
if [ "$failed" -eq 0 ]; then
  echo "ok | $passed passed | 0 failed ($((SECONDS - started))s)"
else
  echo "FAILED | $passed passed | $failed failed ($((SECONDS - started))s)"
  exit 1
fi
