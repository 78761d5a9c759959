/**
 * `deno task validate`: checks the import boundaries, the migration files, the
 * schema against the models, the directive contract's JSON Schema, written
 * table and examples, and the execution modules' declared permissions against
 * the worker's permission set, and the configuration's documents. See {@linkcode validate}.
 *
 * Exit codes: 0 every check passed, 1 violations found, 2 bad usage or an
 * infrastructure problem (unreadable tree, unreachable database).
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import { ConfigError, MIGRATION_ENV, parseMigrationConfig, readEnv } from "../config/mod.ts";
import { formatViolation, validate, ValidateError } from "../validate/mod.ts";

const HELP = `Usage: deno task validate [--root DIR] [--skip-db] [--examples DIR]

Checks the repository at DIR (default: .):

  boundaries  nothing under src/ imports from ai/ (static, export-from, dynamic
              import(), require; relative, bare ai/... and absolute paths);
              files under src/workflows/ import values only from
              @temporalio/workflow and, by relative path, other workflow files
              (\`import type\` / \`export type\` of anything is fine) and never
              use the Deno global
  migrations  every entry of migrations/ is NNNN_snake_case.sql, numbered from
              0001 with no gaps or repeats
  schema      the migrations, applied to a scratch database keel_validate_<random>
              (created through the server's postgres database, always dropped),
              give exactly the tables, columns, types and nullability of the
              models in src/models (TABLES, as loaded by this CLI: with --root,
              DIR's migrations are compared with this checkout's models)
  json-schema docs/schemas/directive.schema.json is exactly the JSON Schema
              generated from the zod directive contract (else run
              \`deno task schemas\`)
  contract    the field table of ai/runtime/contracts/directive.md (first
              column, names in backticks) lists exactly the contract's fields
  examples    every *.json, *.yaml and *.yml under examples/directives/
              (recursively) parses and passes the directive contract over the
              registered module types; each problem is reported at the key as
              "file:line:col: json.path: message" (skipped if the folder is absent);
              every example listed in examples/expected_verdicts.yaml gets the
              verdict stated there from policies/default.json (ALLOW approved by
              the policy or by a person, or BLOCK by a named rule), else the
              example is named with the verdict it got and why
  module-permissions
              every net host, read/write path and env name a registered
              execution module declares is held by permissions.worker in
              deno.json, the set the worker (and so every module's sandbox)
              runs with: "host" covers every port, "host:port" one; a path
              covers what is under it (relative to DIR); "NAME*" is a prefix;
              true covers all (skipped if DIR has no deno.json)
  env         .env.example and docs/configuration.md are what
              \`deno task env:example\` generates from the sections in
              src/config/ (else each variable shown differently, missing or
              undeclared is named), and every variable the tables of other
              docs/*.md files name is declared there, with its default where a
              table has a Default column (skipped if DIR has no .env.example)

Violations are printed to stderr as "path:line:col: what is wrong"; each check
prints a one-line summary to stdout.

Options:
  --root DIR  the repository root to check (default: .)
  --skip-db   skip the schema check, which needs a Postgres server
  --examples DIR
              check the directive examples in DIR (relative to the root)
              instead of examples/directives; DIR must exist
  -h, --help  show this help

Environment:
  MIGRATION_DATABASE_URL  the schema owner's URL (falls back to DATABASE_URL,
                          then postgres://postgres@127.0.0.1:5432/keel); only
                          its server and credentials are used

Exit codes: 0 every check passed, 1 violations found, 2 bad usage or an
infrastructure problem (unreadable tree, unreachable database).`;

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "validate",
    help: HELP,
    options: {
      root: { type: "string" },
      "skip-db": { type: "boolean" },
      examples: { type: "string" },
    },
  });
  if ("exit" in line) return line.exit;
  const values = line.values as { root?: string; "skip-db"?: boolean; examples?: string };
  const skipDb = values["skip-db"] === true;
  const databaseUrl = skipDb ? undefined : parseMigrationConfig(
    readEnv(MIGRATION_ENV, (n) => Deno.env.get(n)),
  ).migrationDatabaseUrl;
  const results = await validate({
    root: values.root ?? ".",
    skipDb,
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    ...(values.examples === undefined ? {} : { examplesDir: values.examples }),
  });
  for (const result of results) {
    for (const violation of result.violations) console.error(formatViolation(violation));
  }
  for (const result of results) console.log(`validate: ${result.check}: ${result.summary}`);
  return results.some((result) => result.status === "failed") ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    const known = error instanceof ValidateError || error instanceof ConfigError;
    console.error(`validate: ${known ? "" : "unexpected error: "}${(error as Error).message}`);
    Deno.exit(2);
  }
}
