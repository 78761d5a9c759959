/**
 * Help texts of the `keel` CLI.
 *
 * @module
 */
import { EXIT_CODES_HELP } from "./common.ts";

/** `keel --help`. */
export const GLOBAL_HELP = `Usage: deno task keel <command> [options]
       keel <command> [options]     (bin/keel, from any directory; see docs/cli.md)

Operate Keel's control loop: submit directives, decide at the approval gate,
abort, and inspect what Postgres records.

Commands:
  submit <file|->          store a directive (JSON or YAML) and start its loop;
                           follow it until it ends unless --detach
  approve <id> --reason R  approve a directive waiting at the approval gate
  reject <id> --reason R   reject it (the directive is aborted)
  abort <id> --reason R    abort a directive that has not ended
  status <id>              the directive, its policy verdict, approval, runs,
                           artifacts, evaluations and the loop's live phase
  list                     recent directives, newest first
  watch <id>               print each ledger transition until the directive ends
  history <id>             the directive's ledger
  score <id> --score S     record a late score (0..1) for a directive
  policy diff <candidate>  which stored directives a candidate policy would
                           decide differently from the active one (read only)
  token new --name N --scopes S
                           generate an HTTP API token; prints it once with the
                           KEEL_API_TOKENS entry (its sha256) to configure
  webhook add|list|remove|deliveries
                           webhook subscriptions and a directive's deliveries
  audit                    (bin/keel only) deno task audit: recompute the
                           ledger's hash chains; \`keel audit --help\`

Options (every command):
  --json       print machine-readable JSON instead of text (errors too, as
               {"error": {...}} on stdout)
  -h, --help   show help; \`keel <command> --help\` for a command's own

Environment:
  DATABASE_URL                 Postgres (the keel_app role)
  TEMPORAL_ADDRESS             Temporal frontend host:port (approve, reject,
                               abort, submit; status for the live phase)
  TEMPORAL_NAMESPACE           Temporal namespace
  TEMPORAL_TASK_QUEUE          task queue the worker polls (submit)
  KEEL_MAX_EXECUTION_ATTEMPTS  attempts given to a loop that submit starts
  KEEL_ACTOR                   who approve/reject/abort are recorded as
                               (default "cli"; --actor overrides)
  KEEL_POLICY_FILE             the active policy that policy diff compares with
                               (default policies/default.json, as the worker)
  OTEL_EXPORTER_OTLP_ENDPOINT  OTLP/HTTP endpoint; unset: no telemetry
                               (OTEL_SERVICE_NAME and the other OTEL_*
                               variables of docs/telemetry.md apply)
  With DATABASE_URL and TEMPORAL_ADDRESS unset, the instance scripts/dev.sh
  records in .data/instance.json is used (its database, Temporal server,
  policy file and decision key; a variable that is set still wins), and a
  line on stderr names it.

Permissions: runs with the "cli" set in deno.json: reads only the project
directory (pipe other files in: keel submit - < /path/file.yaml), reaches only
local Postgres and Temporal, no write, no subprocess, no FFI.

${EXIT_CODES_HELP}

See docs/cli.md.`;

/** Per-command help. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  webhook:
    `Usage: deno task keel webhook add --name <name> --url <url> --events <e,e> [--format standard|slack]
       deno task keel webhook list
       deno task keel webhook remove <name>
       deno task keel webhook deliveries <directive-id>

Webhook subscriptions: Keel POSTs each event to the URL, signed per Standard
Webhooks (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 with
the subscription's secret, printed once by add). Undelivered events are
retried with backoff; every attempt is logged. See docs/notifications.md.

Events: approval_requested, directive_ended, budget_refused, run_failed.

Options:
  --name    the subscription's name (letters, digits and _ . : @ -, up to 100)
  --url     http:// or https:// (the worker's net allow-list must hold its host)
  --events  comma-separated events
  --format  standard (JSON event, default) or slack ({"text": ...})
  --json    JSON output (add prints the secret in it)

Exit codes: 0 done; 2 usage (a bad field is named); 3 no such subscription or
directive; 5 database unreachable.`,
  token: `Usage: deno task keel token new --name <name> --scopes <scope,scope> [--json]

Generates a random API token for the HTTP API and prints it once, with the
entry to add to the server's KEEL_API_TOKENS (name:scope+scope:sha256hex). The
token is stored nowhere: configuration holds only its sha256.

Scopes: read (GET /api/...), submit (POST /api/directives), approve (approve
and reject), abort, score (late scores), admin (every scope).

Options:
  --name    the principal's name: the ledger actor and submitted_by
            (letters, digits and _ . : @ -, up to 200)
  --scopes  comma-separated scopes, e.g. read,approve
  --json    {"name", "scopes", "token", "entry"}

Exit codes: 0 printed; 2 usage (bad name or scope).`,
  submit: `Usage: deno task keel submit <file|-> [--detach] [--json]
       deno task keel submit --batch <file|-> [--json]

Validates a directive document (JSON, or YAML; "-" reads stdin), stores it
(idempotently on its idempotency_key) and starts its loop, then prints its id.
Unless --detach, follows the directive: each ledger transition as it appears
(time, from → to, actor: reason) until it completes, is blocked or aborted.
When Temporal cannot be reached the directive is still stored and the
reconciler starts its loop once a worker runs.

Only files inside the project directory can be read; pipe others in:
  deno task keel submit - < /path/to/directive.yaml

Options:
  -d, --detach  print the id and return at once
  --batch       the input is JSON Lines, one directive per line (up to 16 MiB):
                each line is validated and stored on its own and reported as
                "line N: <id>" or "line N: invalid: ..." ({"line":N,...} with
                --json); loops are started, not followed; exit 4 if any line
                was invalid
  --json        JSON lines: {"event":"submitted",...}, then one per transition
                ({"event":"transition",...}), then {"event":"result",...}

Exit codes: 0 stored (--detach) or completed; 1 ended blocked or aborted, or
refused (idempotency key reused for other content); 2 usage or unreadable
file; 4 invalid directive (each field path and message is listed);
5 database unreachable.`,
  approve: `Usage: deno task keel approve <id> --reason R [--actor A] [--json]

Approves a directive waiting at the approval gate, by an Update to its loop
(it returns once the decision is stored). The actor is KEEL_ACTOR (default
"cli") unless --actor is given. When no loop runs for the directive (it was
never started, or it ended), the decision is recorded directly in Postgres,
and the output says so: the reconciler adopts the directive.

Options:
  --reason R  why (required)
  --actor A   who (default: KEEL_ACTOR, else "cli")

Exit codes: 0 approved; 1 refused (already decided, not awaiting approval);
2 usage; 3 no such directive; 5 database or Temporal unreachable, or the
loop did not answer (no worker).`,
  reject: `Usage: deno task keel reject <id> --reason R [--actor A] [--json]

Rejects a directive waiting at the approval gate; the directive is aborted.
Same delivery, fallback and actor rules as approve.

Options:
  --reason R  why (required)
  --actor A   who (default: KEEL_ACTOR, else "cli")

Exit codes: 0 rejected; 1 refused; 2 usage; 3 no such directive;
5 unreachable.`,
  score: `Usage: deno task keel score <id> --score S [--evaluator E]
       [--dimension name=value]... [--note N] [--json]

Records a score that arrives after the loop (a reviewer's rating, a slower
check) for a directive, linked to it and to no run. A score observes and
never decides: the directive is not changed.

Options:
  --score S             the score, between 0 and 1 (required)
  --evaluator E         who scored (default: human:<KEEL_ACTOR>)
  --dimension name=v    a named part of the score, between 0 and 1; repeatable
  --note N              free text kept with the score

Exit codes: 0 recorded; 2 usage; 3 no such directive; 5 unreachable.`,
  abort: `Usage: deno task keel abort <id> --reason R [--actor A] [--json]

Aborts a directive that has not ended, by an Update to its loop: a running
execution is canceled and the command returns once the loop has ended. When
no loop runs for it, the directive is moved to aborted directly in Postgres.

Options:
  --reason R  why (required)
  --actor A   who (default: KEEL_ACTOR, else "cli")

Exit codes: 0 aborted; 1 refused (already ended); 2 usage; 3 no such
directive; 5 unreachable.`,
  status: `Usage: deno task keel status <id> [--json]

Shows the directive (type, status, version, issued_by, objective, budget,
timebox), its policy verdict (rule, reason, policy version and sha256), its approval,
runs, artifacts (kind, size, sha256), evaluations, and the loop's live phase
from its status query while it runs.

Exit codes: 0; 2 usage; 3 no such directive; 5 database unreachable
(an unreachable Temporal only hides the live phase).`,
  list: `Usage: deno task keel list [--status S] [--type T] [--limit N] [--json]

Lists directives, newest first.

Options:
  --status S  only this status (draft, proposed, approved, executing,
              complete, blocked, aborted)
  --type T    only this directive type
  --limit N   at most N rows, 1 to 200 (default 20)

Exit codes: 0; 2 usage; 5 database unreachable.`,
  watch: `Usage: deno task keel watch <id> [--json]

Prints the directive's ledger transitions so far, then each new one as it
appears (polling every 500 ms), until the directive completes, is blocked or
aborted. Needs only the database.

Exit codes: 0 completed; 1 ended blocked or aborted; 2 usage; 3 no such
directive; 5 database unreachable.`,
  policy: `Usage: deno task keel policy diff <candidate.json> [--days N] [--limit M]
       [--active FILE] [--json]

What-if for a policy change: decides every stored directive created in the
last N days with both the active policy (KEEL_POLICY_FILE, default
policies/default.json; --active overrides) and the candidate, exactly as the
loop's policy step does (the rules, then the module's targets against
net_allow, with the permissions granted on ALLOW), and prints each directive
whose outcome would change, with both verdicts and both reasons, then
"examined N, changed M". Two BLOCKs are no change; otherwise the verdict,
auto-approve, the granted permissions and any other per-directive field of
the decision are compared (not the policy's name, version, the reason or the
approval timeout).

Everything is read in one READ ONLY transaction: nothing is written. The
candidate is validated first; every bad field is named by its JSON path.

Options:
  --days N       directives created in the last N days, 1 to 3650 (default 7)
  --limit M      at most M directives, newest first, 1 to 10000 (default 1000)
  --active FILE  compare with this policy instead of KEEL_POLICY_FILE
  --json         one document: {"active","candidate","examined","changed",
                 "changes":[{"directive_id","differs","active","candidate"}]}

Exit codes: 0 compared (whether or not anything would change); 2 usage, a
missing or unreadable file, or an invalid active policy; 4 the candidate is
not JSON or fails validation (each field path and message is listed);
5 database unreachable.`,
  history: `Usage: deno task keel history <id> [--json]

Prints the directive's ledger: row id, time, from → to, actor, hash prefix and
reason (\`deno task audit\` verifies the hash chain).

Exit codes: 0; 2 usage; 3 no such directive; 5 database unreachable.`,
};
