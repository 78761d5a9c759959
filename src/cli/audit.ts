/**
 * `deno task audit`: recomputes the ledger's hash chains and reports the first
 * broken link, naming the row.
 *
 * Exit codes: 0 intact, 1 broken, 2 bad usage or no database.
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import { parseDatabaseConfig, readEnv } from "../config/mod.ts";
import { connect } from "../db/mod.ts";
import { auditLedger } from "../directives/mod.ts";

const HELP = `Usage: deno task audit [--directive ID] [--json]

Recomputes the sha256 chain of every directive's ledger rows from their content
and reports the first broken link: a row whose content no longer matches its
hash, or whose prev_hash does not link to the row before it.

Options:
  --directive ID  audit one directive only
  --json          print the report as JSON
  -h, --help      show this help

Environment:
  DATABASE_URL    the application's connection (read-only use)

Exit codes: 0 intact, 1 broken, 2 bad usage or no database.`;

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "audit",
    help: HELP,
    options: {
      directive: { type: "string" },
      json: { type: "boolean" },
    },
  });
  if ("exit" in line) return line.exit;
  const values = line.values as { directive?: string; json?: boolean };
  if (values.directive !== undefined && !/^[0-9a-f-]{36}$/i.test(values.directive)) {
    console.error(`audit: --directive "${values.directive}" is not a directive id (a UUID)`);
    return 2;
  }
  const config = parseDatabaseConfig(
    readEnv(["DATABASE_URL", "KEEL_LOG_LEVEL"], (name) => Deno.env.get(name)),
  );
  const sql = connect(config.databaseUrl, { max: 1, applicationName: "keel-audit" });
  try {
    const report = await auditLedger(
      sql,
      values.directive === undefined ? {} : { directiveId: values.directive },
    );
    if (values.json) {
      console.log(JSON.stringify(report));
    } else if (report.broken) {
      console.error(
        `audit: broken link at directive_transitions row ${report.broken.rowId} (directive ${report.broken.directiveId}): ${report.broken.problem}`,
      );
    } else {
      console.log(
        `audit: ${report.rows} ledger rows over ${report.directives} directives: every chain is intact`,
      );
    }
    return report.broken ? 1 : 0;
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
