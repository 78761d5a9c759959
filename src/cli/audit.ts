/**
 * `deno task audit`: recomputes the ledger's hash chains, checks every
 * directive's creation row, seq numbers and status against its ledger, and
 * compares the whole ledger with the latest anchor kept outside Postgres in
 * the artifact store. `--anchor` also writes the head as a new anchor when the
 * audit is clean.
 *
 * Exit codes: 0 intact, 1 findings, 2 bad usage, no database or no store.
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import { ARTIFACT_ENV, parseArtifactConfig, parseDatabaseConfig, readEnv } from "../config/mod.ts";
import { connect, type Sql } from "../db/mod.ts";
import { anchorStoreFrom } from "../artifacts/mod.ts";
import { anchorLedger, auditLedger, latestAnchor } from "../directives/mod.ts";
import { auditBudgetTrail } from "../budget/mod.ts";
import {
  describeInstance,
  type Instance,
  unreachableHint,
  withInstance,
} from "../config/instance.ts";

const HELP = `Usage: deno task audit [--directive ID] [--anchor] [--json]

Recomputes the sha256 chain of every directive's ledger rows from their content
and reports every problem, naming the directive or row:
  - a row whose content no longer matches its hash, or whose prev_hash does not
    link to the row before it;
  - a directive without its creation row, a gap in its ledger seq numbers, or a
    status that differs from its last ledger row's;
  - a budget_ledger row whose state differs from its trail or that has none,
    a gap in a budget key's versions, or a move the append guard refuses;
  - relative to the latest anchor in the artifact store (anchors/ beside the
    artifacts): a deleted tail (the anchored head row missing, or fewer rows up
    to it than anchored) or a rewritten history (its hash or the digest differs).

Options:
  --directive ID  audit one directive only (no anchor comparison)
  --anchor        when the audit is clean, write the ledger's head as a new anchor
  --json          print the report as JSON
  -h, --help      show this help

Environment:
  DATABASE_URL    the application's connection (read-only use)
  KEEL_ARTIFACT_STORE, KEEL_ARTIFACT_DIR, KEEL_S3_*   where anchors are kept
  With DATABASE_URL unset, the database and artifact folder of the instance
  scripts/dev.sh records in .data/instance.json are used, when it runs.

Exit codes: 0 intact, 1 findings, 2 bad usage, no database or no store.`;

/** The checkout this task runs from: where `.data/instance.json` is looked for. */
const REPO_ROOT = new URL("../../", import.meta.url);

/** Probes the database; a failure says which instance did not answer. */
async function reachable(sql: Sql, instance: Instance | undefined, unset: boolean): Promise<void> {
  try {
    await sql`SELECT 1`;
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    const hint = instance !== undefined || unset ? unreachableHint(instance) : "set DATABASE_URL";
    throw new Error(`cannot reach the database: ${(cause as Error).message} (${hint})`, { cause });
  }
}

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "audit",
    help: HELP,
    options: {
      directive: { type: "string" },
      anchor: { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  if ("exit" in line) return line.exit;
  const values = line.values as { directive?: string; anchor?: boolean; json?: boolean };
  if (values.directive !== undefined && !/^[0-9a-f-]{36}$/i.test(values.directive)) {
    console.error(`audit: --directive "${values.directive}" is not a directive id (a UUID)`);
    return 2;
  }
  if (values.directive !== undefined && values.anchor) {
    console.error(`audit: --anchor anchors the whole ledger; it cannot go with --directive`);
    return 2;
  }
  const { env, instance } = await withInstance(
    readEnv(["DATABASE_URL", "KEEL_LOG_LEVEL", ...ARTIFACT_ENV], (name) => Deno.env.get(name)),
    { root: REPO_ROOT, names: ["DATABASE_URL", "KEEL_DB_POOL_MAX", "KEEL_ARTIFACT_DIR"] },
  );
  if (instance !== undefined) console.error(`audit: using ${describeInstance(instance)}`);
  const config = parseDatabaseConfig(env);
  const store = anchorStoreFrom(parseArtifactConfig(env));
  const sql = connect(config.databaseUrl, { max: 1, applicationName: "keel-audit" });
  try {
    await reachable(sql, instance, env.DATABASE_URL === undefined);
    const latest = values.directive === undefined ? await latestAnchor(store) : undefined;
    const report = await auditLedger(sql, {
      ...(values.directive === undefined ? {} : { directiveId: values.directive }),
      ...(latest ? { anchor: latest.anchor } : {}),
    });
    const budget = values.directive === undefined ? await auditBudgetTrail(sql) : [];
    const clean = report.findings.length === 0 && budget.length === 0;
    const written = clean && values.anchor
      ? await anchorLedger(sql, store, { now: new Date() })
      : undefined;
    if (values.json) {
      console.log(
        JSON.stringify({ ...report, budget, ...(written ? { anchored: written } : {}) }),
      );
    } else {
      for (const finding of report.findings) console.error(`audit: ${finding.problem}`);
      for (const finding of budget) console.error(`audit: ${finding.problem}`);
      if (clean) {
        const against = latest ? `; it matches anchor ${latest.name}` : "; no anchor yet";
        console.log(
          `audit: ${report.rows} ledger rows over ${report.directives} directives: every chain is intact${
            values.directive === undefined ? against : ""
          }`,
        );
      }
      if (written?.name) {
        console.log(
          `audit: ${
            written.created ? "anchored" : "already anchored"
          } head row ${written.anchor?.last_id} as ${written.name} in ${store.where}`,
        );
      }
    }
    return clean ? 0 : 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`audit: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
