/**
 * Working memory in Postgres: a bounded scratchpad per directive, key to
 * JSON, that the directive's module reads and writes through its host API
 * (`context.memory`) while one of the directive's runs is running. A later
 * attempt reads what an earlier one wrote, so a retried module can continue
 * where it stopped.
 *
 * Every write appends a version of its key (a deletion appends a version
 * without a value), so the directive's record keeps each value and the run
 * that wrote it. The database refuses a write from a run that is not running
 * or belongs to another directive (migration 0014).
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import type { WorkingMemory } from "../execution/module.ts";
import { jsonProblem } from "../models/mod.ts";

/** The most bytes a directive's live values may take together (their JSON text as stored). */
export const WORKING_MEMORY_MAX_BYTES = 65_536;
/** The most writes (sets and deletions) a directive's working memory takes in all. */
export const WORKING_MEMORY_MAX_WRITES = 1_000;
/** What a key looks like: a letter or digit, then up to 127 of `A-Za-z0-9_.:-`. */
export const WORKING_MEMORY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** Thrown when a working-memory call is malformed or refused; nothing was written. */
export class WorkingMemoryError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkingMemoryError";
  }
}

/** Thrown when a write would exceed a directive's byte or write limit; nothing was written. */
export class WorkingMemoryFullError extends WorkingMemoryError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkingMemoryFullError";
  }
}

/**
 * One key's current value, as the directive's record shows it (snake_case,
 * like the record's rows).
 */
export interface WorkingMemoryEntry {
  /** The key. */
  readonly key: string;
  /** Its value. */
  readonly value: unknown;
  /** How many times the key was written (sets and deletions). */
  readonly version: number;
  /** The run that wrote this value. */
  readonly run_id: string;
  /** That run's attempt. */
  readonly attempt: number;
  /** The value's size as stored. */
  readonly size_bytes: number;
  /** When it was written. */
  readonly written_at: Date;
}

/** A directive's working memory: its live keys and how much of its limits they use. */
export interface WorkingMemorySnapshot {
  /** Live keys, in key order. */
  readonly entries: readonly WorkingMemoryEntry[];
  /** Bytes the live values take, of `max_bytes`. */
  readonly bytes: number;
  /** Writes so far, deletions included, of `max_writes`. */
  readonly writes: number;
  /** {@linkcode WORKING_MEMORY_MAX_BYTES}. */
  readonly max_bytes: number;
  /** {@linkcode WORKING_MEMORY_MAX_WRITES}. */
  readonly max_writes: number;
}

/** Checks a key; throws a {@linkcode WorkingMemoryError} that quotes a bad one. */
export function checkKey(key: unknown): string {
  if (typeof key !== "string" || !WORKING_MEMORY_KEY_PATTERN.test(key)) {
    throw new WorkingMemoryError(
      `Refusing working-memory key ${
        JSON.stringify(typeof key === "string" ? key.slice(0, 200) : key ?? null)
      }: a key is a letter or digit followed by up to 127 of A-Za-z0-9_.:-`,
    );
  }
  return key;
}

/** Reads a directive's working memory (live keys only). */
export async function readWorkingMemory(
  sql: Sql,
  directiveId: string,
): Promise<WorkingMemorySnapshot> {
  const entries = await sql<WorkingMemoryEntry[]>`
    SELECT l.key, l.value, l.version, l.run_id, r.attempt, l.size_bytes, l.written_at
      FROM (SELECT DISTINCT ON (key) key, value, version, run_id, size_bytes, written_at
              FROM working_memory WHERE directive_id = ${directiveId}
             ORDER BY key, version DESC) l
      JOIN execution_runs r ON r.id = l.run_id
     WHERE l.value IS NOT NULL
     ORDER BY l.key`;
  const [counted] = await sql<{ writes: number }[]>`
    SELECT count(*)::int AS writes FROM working_memory WHERE directive_id = ${directiveId}`;
  const writes = counted?.writes ?? 0;
  return {
    entries: [...entries],
    bytes: entries.reduce((sum, entry) => sum + entry.size_bytes, 0),
    writes,
    max_bytes: WORKING_MEMORY_MAX_BYTES,
    max_writes: WORKING_MEMORY_MAX_WRITES,
  };
}

/** The current value of `key`, or `undefined` when it was never set or was deleted. */
export async function getValue(sql: Sql, directiveId: string, key: string): Promise<unknown> {
  checkKey(key);
  // A deletion is SQL NULL; a JSON null is a value.
  const [row] = await sql<{ value: unknown; deleted: boolean }[]>`
    SELECT value, value IS NULL AS deleted FROM working_memory
     WHERE directive_id = ${directiveId} AND key = ${key}
     ORDER BY version DESC LIMIT 1`;
  return row === undefined || row.deleted ? undefined : row.value;
}

/** The live keys, sorted. */
export async function listKeys(sql: Sql, directiveId: string): Promise<string[]> {
  const rows = await sql<{ key: string }[]>`
    SELECT key FROM (SELECT DISTINCT ON (key) key, value FROM working_memory
                      WHERE directive_id = ${directiveId} ORDER BY key, version DESC) l
     WHERE value IS NOT NULL ORDER BY key`;
  return rows.map((row) => row.key);
}

/** Advisory-lock class for one directive's working memory (any fixed number unique to Keel). */
const LOCK_CLASS = 0x6b65;
const encoder = new TextEncoder();

/** What one write appends. */
export interface WriteRequest {
  readonly directiveId: string;
  /** The running run that writes. */
  readonly runId: string;
  readonly key: string;
  /** The new value; `undefined` deletes the key. */
  readonly value: unknown;
}

/**
 * Appends a version of a key: its new value, or a deletion. Writes to one
 * directive are serialised, so the limits hold under concurrent writers.
 * Deleting a key that holds nothing appends nothing.
 *
 * @throws {WorkingMemoryError} for a bad key, a value that is not JSON, or a
 *   run that is not a running run of the directive.
 * @throws {WorkingMemoryFullError} when the write would pass a limit.
 */
export async function writeValue(sql: Sql, request: WriteRequest): Promise<void> {
  const key = checkKey(request.key);
  const text = request.value === undefined ? null : JSON.stringify(request.value);
  if (text === undefined) {
    throw new WorkingMemoryError(`Refusing to set working-memory key "${key}": not a JSON value`);
  }
  const problem = text === null ? undefined : jsonProblem(request.value);
  if (problem !== undefined) {
    throw new WorkingMemoryError(
      `Refusing to set working-memory key "${key}": its value ${problem}`,
    );
  }
  const length = text === null ? 0 : encoder.encode(text).length;
  if (length > WORKING_MEMORY_MAX_BYTES) {
    throw new WorkingMemoryFullError(
      `Refusing to set working-memory key "${key}": its value takes ${length} bytes, more than the ${WORKING_MEMORY_MAX_BYTES} a directive may hold`,
    );
  }
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${request.directiveId}))`;
      const [found] = await tx<
        { version: number; current: boolean; others: number; size: number; writes: number }[]
      >`
        WITH latest AS (
          SELECT DISTINCT ON (key) key, version, value, size_bytes
            FROM working_memory WHERE directive_id = ${request.directiveId}
           ORDER BY key, version DESC)
        SELECT coalesce((SELECT version FROM latest WHERE key = ${key}), 0)::int AS version,
               coalesce((SELECT value IS NOT NULL FROM latest WHERE key = ${key}), false) AS current,
               coalesce((SELECT sum(size_bytes) FROM latest WHERE key <> ${key}), 0)::int AS others,
               coalesce(octet_length(${text}::text::jsonb::text), 0)::int AS size,
               (SELECT count(*) FROM working_memory
                 WHERE directive_id = ${request.directiveId})::int AS writes`;
      const state = found!;
      if (text === null && !state.current) return;
      if (state.writes >= WORKING_MEMORY_MAX_WRITES) {
        throw new WorkingMemoryFullError(
          `Refusing to write working-memory key "${key}": directive "${request.directiveId}" has had its ${WORKING_MEMORY_MAX_WRITES} writes`,
        );
      }
      if (state.others + state.size > WORKING_MEMORY_MAX_BYTES) {
        throw new WorkingMemoryFullError(
          `Refusing to set working-memory key "${key}": ${state.size} bytes with the ${state.others} already held pass the ${WORKING_MEMORY_MAX_BYTES} a directive may hold`,
        );
      }
      await tx`
        INSERT INTO working_memory (directive_id, run_id, key, version, value)
        VALUES (${request.directiveId}, ${request.runId}, ${key}, ${state.version + 1},
                ${text}::text::jsonb)`;
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "42501") {
      throw new WorkingMemoryError(
        `Refusing to write working-memory key "${key}": run "${request.runId}" is not a running run of directive "${request.directiveId}"`,
        { cause: error },
      );
    }
    if (code === "22P02" || code === "22P05" || code === "22023") {
      throw new WorkingMemoryError(
        `Refusing to set working-memory key "${key}": Postgres does not take its value as JSON`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The host side of `context.memory` for one run: reads and writes the
 * directive's working memory as that run.
 */
export function workingMemoryFor(sql: Sql, directiveId: string, runId: string): WorkingMemory {
  return {
    get: (key) => getValue(sql, directiveId, key),
    set: (key, value) => {
      if (value === undefined) {
        return Promise.reject(
          new WorkingMemoryError(
            `Refusing to set working-memory key "${key}" to undefined: use delete`,
          ),
        );
      }
      return writeValue(sql, { directiveId, runId, key, value });
    },
    delete: (key) => writeValue(sql, { directiveId, runId, key, value: undefined }),
    keys: () => listKeys(sql, directiveId),
  };
}
