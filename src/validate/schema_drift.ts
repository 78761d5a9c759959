/**
 * Check 3, schema drift: the migrations, applied to a scratch database, must
 * produce exactly the columns the models in `TABLES` describe — same tables,
 * same columns, same types (as `format_type()` prints them), same nullability.
 *
 * {@linkcode compareCatalog} is the pure comparison; {@linkcode checkSchemaDrift}
 * creates the scratch database, migrates it, reads the catalog and always
 * drops the database again.
 *
 * @module
 */
import { posix } from "node:path";
import { columnSpec, type TableModel } from "../models/mod.ts";
import {
  connect,
  migrate,
  MigrationError,
  type MigrationFile,
  readMigrations,
  redactUrl,
  type Sql,
} from "../db/mod.ts";
import { type ModelLocator, TABLES_FILE } from "./model_locations.ts";
import { ValidateError, type Violation } from "./violation.ts";

/** One user column of the migrated catalog. */
export interface CatalogRow {
  /** The table (public schema). */
  readonly table_name: string;
  /** The column. */
  readonly column_name: string;
  /** `format_type(atttypid, atttypmod)`, e.g. `numeric(18,4)`. */
  readonly type: string;
  /** `attnotnull`. */
  readonly not_null: boolean;
}

/** The migration runner's bookkeeping table, which has no model. */
const BOOKKEEPING_TABLE = "schema_migrations";

function nullability(nullable: boolean): string {
  return nullable ? "nullable" : "NOT NULL";
}

const fallbackLocator: ModelLocator = () => ({ path: TABLES_FILE });

/**
 * Compares the catalog with the models, column by column. Reports tables and
 * columns missing on either side, type mismatches and nullability mismatches;
 * each message names `table.column`, the model's view and the database's view,
 * at the model's location. Pure.
 */
export function compareCatalog(
  rows: readonly CatalogRow[],
  tables: Readonly<Record<string, TableModel>>,
  locate: ModelLocator = fallbackLocator,
): Violation[] {
  const violations: Violation[] = [];
  const report = (table: string, column: string | undefined, message: string) =>
    violations.push({ ...locate(table, column), message });

  const live = new Map<string, Map<string, CatalogRow>>();
  for (const row of rows) {
    if (row.table_name === BOOKKEEPING_TABLE) continue;
    const columns = live.get(row.table_name) ?? new Map<string, CatalogRow>();
    columns.set(row.column_name, row);
    live.set(row.table_name, columns);
  }

  const names = [...new Set([...Object.keys(tables), ...live.keys()])].sort();
  for (const table of names) {
    const model = tables[table];
    const columns = live.get(table);
    if (model === undefined) {
      const count = columns?.size ?? 0;
      violations.push({
        path: TABLES_FILE,
        message: `${table}: the database has this table (${count} column${
          count === 1 ? "" : "s"
        }) but TABLES has no model for it`,
      });
      continue;
    }
    if (columns === undefined) {
      report(table, undefined, `${table}: the model declares this table but the database has none`);
      continue;
    }
    const shape = model.row.shape as Record<string, Parameters<typeof columnSpec>[0]>;
    for (const [column, field] of Object.entries(shape)) {
      const spec = columnSpec(field);
      const db = columns.get(column);
      const name = `${table}.${column}`;
      if (spec.pg === undefined) {
        report(
          table,
          column,
          `${name}: the model's field has no Postgres type (declare it with col.* or pg())`,
        );
        continue;
      }
      if (db === undefined) {
        report(
          table,
          column,
          `${name}: the model has this column (${spec.pg} ${
            nullability(spec.nullable)
          }) but the database does not`,
        );
        continue;
      }
      if (db.type !== spec.pg) {
        report(
          table,
          column,
          `${name}: type differs: model says ${spec.pg}, database says ${db.type}`,
        );
      }
      if (db.not_null === spec.nullable) {
        report(
          table,
          column,
          `${name}: nullability differs: model says ${nullability(spec.nullable)}, database says ${
            nullability(!db.not_null)
          }`,
        );
      }
    }
    for (const [column, db] of columns) {
      if (column in shape) continue;
      report(
        table,
        undefined,
        `${table}.${column}: the database has this column (${db.type} ${
          nullability(!db.not_null)
        }) but the model does not`,
      );
    }
  }
  return violations;
}

/** Reads the user columns of every ordinary table in the public schema, but `schema_migrations`. */
export async function readCatalog(sql: Sql): Promise<CatalogRow[]> {
  return await sql<CatalogRow[]>`
    SELECT c.relname AS table_name,
           a.attname AS column_name,
           format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public'
       AND c.relkind IN ('r', 'p')
       AND NOT c.relispartition
       AND c.relname <> ${BOOKKEEPING_TABLE}
       AND a.attnum > 0
       AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`;
}

/** What {@linkcode checkSchemaDrift} needs. */
export interface SchemaDriftOptions {
  /** The checked root; migrations are read from `<root>/migrations`. */
  readonly root: string;
  /** The schema owner's URL; only its server and credentials are used. */
  readonly databaseUrl: string;
  /** The models to compare with. */
  readonly tables: Readonly<Record<string, TableModel>>;
  /** Where the models are written, for messages. */
  readonly locate?: ModelLocator;
}

/** What {@linkcode checkSchemaDrift} found. */
export interface SchemaDriftReport {
  /** Every violation. */
  readonly violations: Violation[];
  /** Migration files applied to the scratch database. */
  readonly migrations: number;
  /** Tables in the migrated catalog (without `schema_migrations`). */
  readonly tables: number;
  /** Columns in the migrated catalog. */
  readonly columns: number;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A migration that fails to apply is a violation of the file, not an infrastructure error. */
function failedMigration(error: MigrationError): Violation {
  const match = /^Migration "([^"]+)" failed(?:, line (\d+))?: /.exec(error.message);
  const path = match?.[1] ?? "migrations";
  const message = match ? error.message.slice(match[0].length) : error.message;
  return match?.[2] === undefined
    ? { path, message: `does not apply: ${message}` }
    : { path, line: Number(match[2]), col: 1, message: `does not apply: ${message}` };
}

/** Applies the migrations to the scratch database and compares its catalog with the models. */
async function migrateAndCompare(
  url: string,
  files: readonly MigrationFile[],
  options: SchemaDriftOptions,
): Promise<SchemaDriftReport> {
  const scratch = connect(url, { max: 1, applicationName: "keel-validate" });
  try {
    try {
      await migrate(scratch, files, { lockTimeoutMs: 10_000 });
    } catch (error) {
      if (!(error instanceof MigrationError && error.code === "failed")) throw error;
      return {
        violations: [failedMigration(error)],
        migrations: files.length,
        tables: 0,
        columns: 0,
      };
    }
    const rows = await readCatalog(scratch);
    return {
      violations: compareCatalog(rows, options.tables, options.locate),
      migrations: files.length,
      tables: new Set(rows.map((row) => row.table_name)).size,
      columns: rows.length,
    };
  } finally {
    await scratch.end({ timeout: 5 });
  }
}

async function dropScratch(admin: Sql, name: string): Promise<void> {
  try {
    await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
  } catch (cause) {
    throw new ValidateError(`Cannot drop the scratch database ${name}: ${errorText(cause)}`, {
      cause,
    });
  }
}

/**
 * Creates `keel_validate_<random>` on the server of `databaseUrl` (through its
 * `postgres` database), applies the root's migrations with the real runner,
 * compares the catalog with the models, and drops the database whatever happens.
 * Throws {@linkcode ValidateError} when the server cannot be used.
 */
export async function checkSchemaDrift(options: SchemaDriftOptions): Promise<SchemaDriftReport> {
  const files = await readMigrations(posix.join(options.root, "migrations"));
  const name = `keel_validate_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  let adminUrl: string;
  let scratchUrl: string;
  try {
    adminUrl = withDatabase(options.databaseUrl, "postgres");
    scratchUrl = withDatabase(options.databaseUrl, name);
  } catch (cause) {
    throw new ValidateError(`Cannot parse the database URL: ${errorText(cause)}`, { cause });
  }
  const admin = connect(adminUrl, { max: 1, applicationName: "keel-validate" });
  try {
    try {
      await admin`CREATE DATABASE ${admin(name)}`;
    } catch (cause) {
      throw new ValidateError(
        `Cannot create the scratch database ${name} on ${redactUrl(adminUrl)}: ${errorText(cause)}`,
        { cause },
      );
    }
    let report: SchemaDriftReport;
    try {
      report = await migrateAndCompare(scratchUrl, files, options);
    } catch (error) {
      // The first failure is the one to report; still try to leave no database behind.
      await dropScratch(admin, name).catch(() => {});
      throw error;
    }
    await dropScratch(admin, name);
    return report;
  } finally {
    await admin.end({ timeout: 5 });
  }
}
