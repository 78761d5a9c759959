import type { Sql } from "../db/mod.ts";
import { type DirectiveRow, ExecutionRunRow } from "../models/mod.ts";
import { insertArtifacts, type PreparedArtifact } from "../artifacts/mod.ts";
import { settleReservation } from "../budget/mod.ts";

/** Thrown when a run id names no run. */
export class RunNotFoundError extends Error {
  /** The id looked up. */
  readonly runId: string;
  /** Creates the error. */
  constructor(runId: string, options?: ErrorOptions) {
    super(`No execution run has id "${runId}"`, options);
    this.name = "RunNotFoundError";
    this.runId = runId;
  }
}

/**
 * The key a module passes downstream (e.g. as `Idempotency-Key`): one per
 * directive, so every attempt of a retry-safe module repeats the same key
 * and the receiver can tell a repeat from a new request.
 */
export function downstreamKey(directiveId: string): string {
  return `keel-directive-${directiveId}`;
}

/** The idempotency key of a directive's attempt: stable across activity retries. */
export function runIdempotencyKey(directiveId: string, attempt: number): string {
  return `${directiveId}:attempt:${attempt}`;
}

/**
 * Creates the run for a directive's attempt, or returns the one that exists:
 * runs are unique per (directive, attempt) and per idempotency key, so a
 * retried activity never makes a second run.
 */
export async function createRun(
  sql: Sql,
  request: { directive: DirectiveRow; attempt: number },
): Promise<{ run: ExecutionRunRow; created: boolean }> {
  const key = runIdempotencyKey(request.directive.id, request.attempt);
  const [inserted] = await sql`
    INSERT INTO execution_runs (directive_id, attempt, idempotency_key, module)
    VALUES (${request.directive.id}, ${request.attempt}, ${key}, ${request.directive.type})
    ON CONFLICT DO NOTHING
    RETURNING *`;
  if (inserted) return { run: ExecutionRunRow.parse(inserted), created: true };
  const [existing] = await sql`
    SELECT * FROM execution_runs
     WHERE directive_id = ${request.directive.id} AND attempt = ${request.attempt}`;
  return { run: ExecutionRunRow.parse(existing), created: false };
}

/** Loads a run by id. */
export async function getRun(sql: Sql, runId: string): Promise<ExecutionRunRow | undefined> {
  const [row] = await sql`SELECT * FROM execution_runs WHERE id = ${runId}`;
  return row ? ExecutionRunRow.parse(row) : undefined;
}

/**
 * Claims a pending run for its one execution: `pending → running`, committed
 * before the module starts. `claimed` is false when the run was not pending
 * (an earlier activity already started it, or it has ended); the run is
 * returned as stored.
 */
export async function claimRun(
  sql: Sql,
  runId: string,
): Promise<{ run: ExecutionRunRow; claimed: boolean }> {
  const [row] = await sql`
    UPDATE execution_runs SET status = 'running', started_at = now()
     WHERE id = ${runId} AND status = 'pending'
    RETURNING *`;
  if (row) return { run: ExecutionRunRow.parse(row), claimed: true };
  const existing = await getRun(sql, runId);
  if (!existing) throw new RunNotFoundError(runId);
  return { run: existing, claimed: false };
}

/** How a run ended. */
export interface RunEnding {
  /** completed, failed, canceled or lost (the worker died while the module ran). */
  readonly status: "completed" | "failed" | "canceled" | "lost";
  /** The module's outcome; absent for a canceled run. */
  readonly outcome?: "SUCCESS" | "FAILURE" | "ERROR";
  /** Small JSON result. */
  readonly result?: unknown;
  /** Summary. */
  readonly message: string;
  /** Spent, as a decimal. */
  readonly budgetConsumed?: string;
  /** How long the module ran. */
  readonly durationMs?: number;
  /** Artifacts to record with the ending, already routed by `prepareArtifact`. */
  readonly artifacts?: readonly PreparedArtifact[];
  /** The run's budget reservation to settle with the ending: charged `amount`, or released. */
  readonly settle?: { readonly key: string; readonly amount: string | null };
}

/**
 * Records how a run ended, with its artifacts and the settlement of its
 * budget reservation, in one transaction. Only a run that has not ended is
 * changed: when a retry or a racing duplicate finds it already ended, the
 * stored ending is returned and nothing is written, so artifacts are never
 * duplicated and nothing is charged twice.
 */
export async function finishRun(
  sql: Sql,
  runId: string,
  ending: RunEnding,
): Promise<{ run: ExecutionRunRow; changed: boolean }> {
  return await sql.begin(async (tx) => {
    const [updated] = await tx`
      UPDATE execution_runs
         SET status = ${ending.status},
             outcome = ${ending.outcome ?? null},
             result = ${ending.result === undefined ? null : tx.json(ending.result as never)},
             message = ${ending.message.slice(0, 4000)},
             budget_consumed = ${ending.budgetConsumed ?? null},
             duration_ms = ${ending.durationMs ?? null},
             started_at = coalesce(started_at, now()),
             finished_at = now()
       WHERE id = ${runId} AND status IN ('pending', 'running')
      RETURNING *`;
    if (!updated) {
      const [existing] = await tx`SELECT * FROM execution_runs WHERE id = ${runId}`;
      if (!existing) throw new RunNotFoundError(runId);
      return { run: ExecutionRunRow.parse(existing), changed: false };
    }
    const run = ExecutionRunRow.parse(updated);
    await insertArtifacts(tx, ending.artifacts ?? [], {
      directiveId: run.directive_id,
      runId: run.id,
    });
    if (ending.settle) await settleReservation(tx, ending.settle.key, ending.settle.amount);
    return { run, changed: true };
  }) as { run: ExecutionRunRow; changed: boolean };
}

/** How many of the directive's attempts up to `run` were lost, and how many ended otherwise. */
export async function attemptCounts(
  sql: Sql,
  run: { directive_id: string; attempt: number },
): Promise<{ lost: number; ended: number }> {
  const [row] = await sql<{ lost: number; ended: number }[]>`
    SELECT count(*) FILTER (WHERE status = 'lost')::int AS lost,
           count(*) FILTER (WHERE status IN ('completed', 'failed', 'canceled'))::int AS ended
      FROM execution_runs
     WHERE directive_id = ${run.directive_id} AND attempt <= ${run.attempt}`;
  return { lost: row?.lost ?? 0, ended: row?.ended ?? 0 };
}
