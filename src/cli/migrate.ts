/**
 * `deno task migrate`: applies pending SQL migrations from `migrations/`.
 *
 * Exit codes: 0 done, 1 refused or failed, 2 bad usage.
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import { MIGRATION_ENV, parseMigrationConfig, readEnv } from "../config/mod.ts";
import { connect, migrate, migrationStatus, readMigrations, redactUrl } from "../db/mod.ts";

const HELP = `Usage: deno task migrate [--status] [--dir DIR]

Applies every pending migration in DIR (default: migrations), each file in its
own transaction, recorded in schema_migrations with its sha256. Runners on the
same database take turns on an advisory lock.

Options:
  --status   list applied and pending files, change nothing
  --dir DIR  the migrations folder (default: migrations)
  -h, --help show this help

Environment:
  MIGRATION_DATABASE_URL  the schema owner's URL (falls back to DATABASE_URL)

Exit codes: 0 done, 1 refused or failed, 2 bad usage.`;

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "migrate",
    help: HELP,
    options: {
      status: { type: "boolean" },
      dir: { type: "string" },
    },
  });
  if ("exit" in line) return line.exit;
  const values = line.values as { status?: boolean; dir?: string };
  const config = parseMigrationConfig(
    readEnv(MIGRATION_ENV, (n) => Deno.env.get(n)),
  );
  const dir = values.dir ?? "migrations";
  const files = await readMigrations(dir);
  const sql = connect(config.migrationDatabaseUrl, { max: 1, applicationName: "keel-migrate" });
  try {
    if (values.status) {
      for (const line of await migrationStatus(sql, files)) {
        const when = line.appliedAt ? `  ${line.appliedAt.toISOString()}` : "";
        console.log(`${line.state.padEnd(8)} ${line.filename}${when}`);
      }
      return 0;
    }
    const applied = await migrate(sql, files, { log: (line) => console.log(line) });
    console.log(
      applied.length === 0
        ? `migrate: ${redactUrl(config.migrationDatabaseUrl)} is up to date (${files.length} files)`
        : `migrate: applied ${applied.length} of ${files.length} files to ${
          redactUrl(config.migrationDatabaseUrl)
        }`,
    );
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`migrate: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
