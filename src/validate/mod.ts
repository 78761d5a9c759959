/**
 * `deno task validate`: the repository's structural checks.
 *
 * 1. **boundaries** — nothing under `src/` imports from `ai/`; workflow code
 *    imports values only from `@temporalio/workflow` and other workflow files,
 *    and never touches `Deno`.
 * 2. **migrations** — `migrations/` holds `NNNN_snake_case.sql` files numbered
 *    from 0001 without gaps or repeats.
 * 3. **schema** — the migrations, applied to a scratch database, produce
 *    exactly the columns the models in `TABLES` describe.
 *
 * Each check is a pure function over its inputs ({@linkcode checkBoundaries},
 * {@linkcode checkMigrationEntries}, {@linkcode compareCatalog}) with a thin
 * I/O wrapper; {@linkcode validate} runs them all against a directory.
 *
 * @module
 */
import { posix } from "node:path";
import { type TableModel, TABLES } from "../models/mod.ts";
import { checkBoundaries } from "./boundaries.ts";
import { checkMigrationEntries, listMigrationEntries } from "./migration_names.ts";
import { locateModels } from "./model_locations.ts";
import { checkSchemaDrift } from "./schema_drift.ts";
import { readImportMap, readSourceFiles } from "./source_files.ts";
import { type CheckResult, resultOf, ValidateError } from "./violation.ts";

export {
  type BoundaryOptions,
  type BoundaryReport,
  checkBoundaries,
  resolveSpecifier,
  type SourceFile,
} from "./boundaries.ts";
export {
  checkMigrationEntries,
  listMigrationEntries,
  type MigrationNamesReport,
} from "./migration_names.ts";
export { locateModels, type Location, type ModelLocator, TABLES_FILE } from "./model_locations.ts";
export {
  type CatalogRow,
  checkSchemaDrift,
  compareCatalog,
  readCatalog,
  type SchemaDriftOptions,
  type SchemaDriftReport,
} from "./schema_drift.ts";
export { findGlobalUses, findImports, type ImportRef, type Token, tokenize } from "./scan.ts";
export { readImportMap, readSourceFiles } from "./source_files.ts";
export {
  type CheckName,
  type CheckResult,
  formatViolation,
  ValidateError,
  type Violation,
} from "./violation.ts";

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** What {@linkcode validate} checks, and against what. */
export interface ValidateOptions {
  /** The repository root to check (holds `src/` and `migrations/`). */
  readonly root: string;
  /** Skip the schema check, which needs a Postgres server. */
  readonly skipDb?: boolean;
  /** The schema owner's URL; required unless `skipDb`. Only its server and credentials are used. */
  readonly databaseUrl?: string;
  /** The models to compare the schema with; defaults to {@linkcode TABLES}. */
  readonly tables?: Readonly<Record<string, TableModel>>;
}

/**
 * Runs the three checks against `options.root` and returns one result per
 * check. Violations are results, not errors; throws {@linkcode ValidateError}
 * only when a check cannot run (unreadable tree, unusable database).
 */
export async function validate(options: ValidateOptions): Promise<CheckResult[]> {
  const root = options.root;
  const rootDir = posix.resolve(Deno.cwd(), root);
  const files = await readSourceFiles(root);
  const boundaries = checkBoundaries(files, { rootDir, importMap: await readImportMap(root) });
  const results: CheckResult[] = [
    resultOf(
      "boundaries",
      boundaries.violations,
      `${plural(boundaries.files, "file")} under src/ (${boundaries.workflowFiles} in ` +
        `src/workflows/), ${plural(boundaries.imports, "import")} checked: nothing imports ai/, ` +
        `workflow code is clean`,
    ),
  ];

  const names = checkMigrationEntries(await listMigrationEntries(posix.join(root, "migrations")));
  const last = names.entries.at(-1)?.slice(0, 4);
  results.push(resultOf(
    "migrations",
    names.violations,
    last === undefined
      ? "no migration files"
      : `${plural(names.entries.length, "file")}, 0001 to ${last}, named and numbered without gaps`,
  ));

  if (options.skipDb) {
    results.push({
      check: "schema",
      status: "skipped",
      summary: "skipped (--skip-db)",
      violations: [],
    });
  } else if (names.violations.length > 0) {
    results.push({
      check: "schema",
      status: "skipped",
      summary: "skipped: fix the migration file names first",
      violations: [],
    });
  } else {
    if (options.databaseUrl === undefined) {
      throw new ValidateError("The schema check needs a database URL (or skip it with --skip-db)");
    }
    const drift = await checkSchemaDrift({
      root,
      databaseUrl: options.databaseUrl,
      tables: options.tables ?? TABLES,
      locate: locateModels(files.filter((file) => file.path.startsWith("src/models/"))),
    });
    results.push(resultOf(
      "schema",
      drift.violations,
      `${plural(drift.migrations, "migration")} applied to a scratch database: ` +
        `${plural(drift.tables, "table")}, ${plural(drift.columns, "column")} match TABLES`,
    ));
  }
  return results;
}
