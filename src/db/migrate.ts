import type { Sql } from "./client.ts";

/** One migration file read from disk. */
export interface MigrationFile {
  /** The number in the file name, e.g. 1 for `0001_initial.sql`. */
  readonly version: number;
  /** The file name, e.g. `0001_initial.sql`. */
  readonly filename: string;
  /** The file's SQL text. */
  readonly sql: string;
  /** Hex sha256 of the file's bytes. */
  readonly sha256: string;
}

/** What went wrong, for callers that branch on it. */
export type MigrationErrorCode =
  | "naming"
  | "ahead"
  | "drift"
  | "failed"
  | "lock_timeout";

/** Thrown by the migration runner; `code` says which rule was broken. */
export class MigrationError extends Error {
  /** Which rule was broken. */
  readonly code: MigrationErrorCode;
  /** Creates the error. */
  constructor(code: MigrationErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MigrationError";
    this.code = code;
  }
}

/** The file-name pattern: four digits, an underscore, a snake_case name. */
export const MIGRATION_NAME = /^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/;

/**
 * Checks names and ordering of the entries in a migrations folder: every entry
 * matches {@linkcode MIGRATION_NAME}, numbers start at 0001 and have no gaps or
 * repeats. Returns one message per problem, naming the file.
 */
export function checkMigrationNames(entries: readonly string[]): string[] {
  const problems: string[] = [];
  const byVersion = new Map<number, string[]>();
  for (const entry of [...entries].sort()) {
    const match = MIGRATION_NAME.exec(entry);
    if (!match) {
      problems.push(
        `migrations/${entry}: name must match NNNN_snake_case.sql (e.g. 0001_initial.sql)`,
      );
      continue;
    }
    const version = Number(match[1]);
    byVersion.set(version, [...(byVersion.get(version) ?? []), entry]);
  }
  const versions = [...byVersion.keys()].sort((a, b) => a - b);
  versions.forEach((version, index) => {
    const names = byVersion.get(version) ?? [];
    if (names.length > 1) {
      problems.push(`migrations/${names.join(", migrations/")}: number ${version} is used twice`);
    }
    const expected = index + 1;
    if (version !== expected) {
      problems.push(
        `migrations/${names[0]}: expected number ${String(expected).padStart(4, "0")} next, found ${
          String(version).padStart(4, "0")
        } (numbers start at 0001 with no gaps)`,
      );
    }
  });
  return problems;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads and checks every migration in `dir`, in order. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) entries.push(entry.name);
  }
  const problems = checkMigrationNames(entries);
  if (problems.length > 0) throw new MigrationError("naming", problems.join("\n"));
  const files: MigrationFile[] = [];
  for (const filename of entries.sort()) {
    const bytes = await Deno.readFile(`${dir}/${filename}`);
    files.push({
      version: Number(filename.slice(0, 4)),
      filename,
      sql: new TextDecoder().decode(bytes),
      sha256: await sha256Hex(bytes),
    });
  }
  return files;
}

/** One line of `migrate --status`. */
export interface MigrationStatus {
  /** The file name. */
  readonly filename: string;
  /** `applied`, `pending`, `changed` (drift) or `missing` (database ahead of code). */
  readonly state: "applied" | "pending" | "changed" | "missing";
  /** When it was applied, if it was. */
  readonly appliedAt: Date | null;
}

interface AppliedRow {
  version: number;
  filename: string;
  sha256: string;
  applied_at: Date;
}

async function ensureTable(sql: Sql): Promise<void> {
  await sql`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY CHECK (version > 0),
      filename text NOT NULL UNIQUE,
      sha256 char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
}

async function readApplied(sql: Sql): Promise<AppliedRow[]> {
  const exists = await sql<{ found: boolean }[]>`
    SELECT to_regclass('schema_migrations') IS NOT NULL AS found`;
  if (!exists[0]?.found) return [];
  return await sql<AppliedRow[]>`
    SELECT version, filename, sha256, applied_at FROM schema_migrations ORDER BY version`;
}

/** Compares applied rows with files on disk, in version order. */
export async function migrationStatus(
  sql: Sql,
  files: readonly MigrationFile[],
): Promise<MigrationStatus[]> {
  const applied = await readApplied(sql);
  const byVersion = new Map(applied.map((row) => [row.version, row]));
  const lines: MigrationStatus[] = files.map((file) => {
    const row = byVersion.get(file.version);
    if (!row) return { filename: file.filename, state: "pending", appliedAt: null };
    const same = row.sha256 === file.sha256 && row.filename === file.filename;
    return {
      filename: file.filename,
      state: same ? "applied" : "changed",
      appliedAt: row.applied_at,
    };
  });
  const known = new Set(files.map((file) => file.version));
  for (const row of applied) {
    if (!known.has(row.version)) {
      lines.push({ filename: row.filename, state: "missing", appliedAt: row.applied_at });
    }
  }
  return lines;
}

function refuseInconsistent(status: readonly MigrationStatus[]): void {
  const missing = status.filter((line) => line.state === "missing");
  if (missing.length > 0) {
    throw new MigrationError(
      "ahead",
      `The database is ahead of the code: it has applied ${
        missing.map((line) => `"${line.filename}"`).join(", ")
      }, which migrations/ does not contain. Deploy the newer code instead.`,
    );
  }
  const changed = status.filter((line) => line.state === "changed");
  if (changed.length > 0) {
    throw new MigrationError(
      "drift",
      `Applied migration${changed.length > 1 ? "s" : ""} changed on disk: ${
        changed.map((line) => `"migrations/${line.filename}"`).join(", ")
      }. Applied files are immutable: revert the edit and add a new migration.`,
    );
  }
}

/** Options for {@linkcode migrate}. */
export interface MigrateOptions {
  /** How long to keep polling for the advisory lock before giving up. */
  readonly lockTimeoutMs?: number;
  /** Called with one line per applied file. */
  readonly log?: (line: string) => void;
}

/** The key of the advisory lock that serialises runners on one database. */
const LOCK_KEY = "keel.schema_migrations";

function lineOf(text: string, position: number): number {
  return text.slice(0, Math.max(0, position - 1)).split("\n").length;
}

function describeFailure(file: MigrationFile, error: unknown): string {
  const pg = error as { message?: string; position?: string | number };
  const at = pg.position ? `, line ${lineOf(file.sql, Number(pg.position))}` : "";
  return `Migration "migrations/${file.filename}" failed${at}: ${
    pg.message ?? String(error)
  }. It was rolled back; nothing of it was applied.`;
}

/**
 * Applies pending migrations, each file in its own transaction together with
 * its `schema_migrations` row. Runners on the same database serialise on an
 * advisory lock taken by polling `pg_try_advisory_lock`: a blocking wait could
 * deadlock against `CREATE INDEX CONCURRENTLY` in another session.
 *
 * Refuses to run when the database holds a migration the code lacks, or when
 * an applied file has changed. Returns the file names it applied.
 */
export async function migrate(
  sql: Sql,
  files: readonly MigrationFile[],
  options: MigrateOptions = {},
): Promise<string[]> {
  const conn = await sql.reserve();
  const deadline = Date.now() + (options.lockTimeoutMs ?? 60_000);
  try {
    while (true) {
      const [row] = await conn<{ locked: boolean }[]>`
        SELECT pg_try_advisory_lock(hashtext(${LOCK_KEY})) AS locked`;
      if (row?.locked) break;
      if (Date.now() > deadline) {
        throw new MigrationError(
          "lock_timeout",
          `Timed out after ${
            options.lockTimeoutMs ?? 60_000
          } ms waiting for the migration lock "${LOCK_KEY}": another runner holds it`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      await ensureTable(conn as unknown as Sql);
      const status = await migrationStatus(conn as unknown as Sql, files);
      refuseInconsistent(status);
      const pending = new Set(status.filter((s) => s.state === "pending").map((s) => s.filename));
      const applied: string[] = [];
      for (const file of files) {
        if (!pending.has(file.filename)) continue;
        await conn`BEGIN`;
        try {
          await conn.unsafe(file.sql);
          await conn`
            INSERT INTO schema_migrations (version, filename, sha256)
            VALUES (${file.version}, ${file.filename}, ${file.sha256})`;
          await conn`COMMIT`;
        } catch (error) {
          await conn`ROLLBACK`;
          throw new MigrationError("failed", describeFailure(file, error), { cause: error });
        }
        applied.push(file.filename);
        options.log?.(`applied ${file.filename}`);
      }
      return applied;
    } finally {
      await conn`SELECT pg_advisory_unlock(hashtext(${LOCK_KEY}))`;
    }
  } finally {
    conn.release();
  }
}
