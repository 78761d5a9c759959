/**
 * `deno task prune --older-than <duration>`: removes execution payloads and
 * artifact bodies of finished directives past retention. Owner-run: it calls
 * `keel_prune_payloads`, which keel_app may not execute.
 *
 * Exit codes: 0 done, 1 refused or failed, 2 bad usage.
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import {
  ARTIFACT_ENV,
  ConfigError,
  MIGRATION_ENV,
  parseActor,
  parseArtifactConfig,
  parseMigrationConfig,
  readEnv,
} from "../config/mod.ts";
import { assertPermissions } from "../config/permissions.ts";
import { needsOf } from "../config/process_needs.ts";
import { createPurger } from "../artifacts/mod.ts";
import { connect, redactUrl } from "../db/mod.ts";
import { parseDuration, prunePayloads, purgeStoredBodies } from "../retention/mod.ts";

const HELP = `Usage: deno task prune --older-than DURATION [--dry-run] [--json]

Removes payloads of directives in a terminal status (complete, blocked,
aborted) older than DURATION: execution_runs.result and inline artifact
bodies are set to NULL, artifacts are marked pruned_at, and one row per pruned
payload is written to retention_tombstones. Then the bodies of pruned
artifacts kept in the object store (64 KiB and more) are removed from it,
unless an artifact that was not pruned shares the same body.

Never touched: directive_transitions (the ledger), approvals,
policy_evaluations, evaluations, budget_ledger, budget_ledger_events,
directives, and the ledger anchors (anchors/ beside the artifacts).

Options:
  --older-than DURATION  e.g. 30d, 12h, 90m, 3600s, 2w (required)
  --dry-run              count what would be pruned, change nothing
  --json                 print the report as JSON
  -h, --help             show this help

Environment:
  MIGRATION_DATABASE_URL  the schema owner's URL, or a role granted keel_prune
                          (falls back to DATABASE_URL; keel_app is refused)
  KEEL_ACTOR              recorded on each tombstone (default: cli)
  KEEL_ARTIFACT_STORE, KEEL_ARTIFACT_DIR, KEEL_S3_*
                          the object store, as the worker has it

Exit codes: 0 done, 1 refused or failed, 2 bad usage.`;

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "prune",
    help: HELP,
    options: {
      "older-than": { type: "string" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  if ("exit" in line) return line.exit;
  const values = line.values as { "older-than"?: string; "dry-run"?: boolean; json?: boolean };
  if (values["older-than"] === undefined) {
    console.error("prune: --older-than is required (e.g. --older-than 30d); see --help");
    return 2;
  }
  let ageMs: number;
  try {
    ageMs = parseDuration(values["older-than"]);
  } catch (error) {
    console.error(`prune: ${(error as Error).message}`);
    return 2;
  }
  const read = (name: string) => Deno.env.get(name);
  const config = parseMigrationConfig(
    readEnv(MIGRATION_ENV, read),
  );
  const actor = parseActor(readEnv(["KEEL_ACTOR"], read));
  const artifactEnv = readEnv(ARTIFACT_ENV, read);
  const artifacts = parseArtifactConfig(artifactEnv);
  await assertPermissions(
    needsOf("prune", { ...readEnv(MIGRATION_ENV, read), ...artifactEnv }),
    "prune",
  );
  const sql = connect(config.migrationDatabaseUrl, { max: 1, applicationName: "keel-prune" });
  try {
    const cutoff = new Date(Date.now() - ageMs);
    const dryRun = values["dry-run"] ?? false;
    const report = await prunePayloads(sql, cutoff, { actor, dryRun });
    const purged = await purgeStoredBodies(sql, createPurger(artifacts), { dryRun });
    if (values.json) {
      console.log(JSON.stringify({ ...report, ...purged }));
    } else {
      const verb = report.dryRun ? "would prune" : "pruned";
      console.log(
        `prune: ${verb} ${report.runsPruned} run payloads and ${report.artifactsPruned} artifacts (${report.bytesRemoved} bytes) older than ${cutoff.toISOString()} on ${
          redactUrl(config.migrationDatabaseUrl)
        }; ${purged.objectsPurged} stored bodies ${dryRun ? "to remove" : "removed"}`,
      );
    }
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`prune: ${(error as Error).message}`);
    Deno.exit(error instanceof ConfigError ? 2 : 1);
  }
}
