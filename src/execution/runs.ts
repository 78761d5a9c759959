import type { Sql } from "../db/mod.ts";
import { compareDecimals, type DirectiveRow, ExecutionRunRow } from "../models/mod.ts";
import { insertArtifact, type PreparedArtifact } from "../artifacts/mod.ts";
import type { ModuleResult } from "./module.ts";

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

/** Marks a pending run running; a running one stays as it is. Returns the run. */
export async function markRunning(sql: Sql, runId: string): Promise<ExecutionRunRow> {
  const [row] = await sql`
    UPDATE execution_runs SET status = 'running', started_at = coalesce(started_at, now())
     WHERE id = ${runId} AND status IN ('pending', 'running')
    RETURNING *`;
  if (row) return ExecutionRunRow.parse(row);
  const existing = await getRun(sql, runId);
  if (!existing) throw new Error(`No execution run has id "${runId}"`);
  return existing;
}

/** How a run ended. */
export interface RunEnding {
  /** completed, failed or canceled. */
  readonly status: "completed" | "failed" | "canceled";
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
}

/**
 * Records how a run ended, with its artifacts, in one transaction. Only a
 * run that has not ended is changed: when a retry or a racing duplicate
 * finds it already ended, the stored ending is returned and nothing is
 * written, so artifacts are never duplicated.
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
      if (!existing) throw new Error(`No execution run has id "${runId}"`);
      return { run: ExecutionRunRow.parse(existing), changed: false };
    }
    const run = ExecutionRunRow.parse(updated);
    for (const artifact of ending.artifacts ?? []) {
      await insertArtifact(tx, artifact, {
        directiveId: run.directive_id,
        runId: run.id,
      });
    }
    return { run, changed: true };
  }) as { run: ExecutionRunRow; changed: boolean };
}

/** Whether a module result's spending is within the budget amount (exact decimals). */
export function withinBudget(result: ModuleResult, budgetAmount: string): boolean {
  return compareDecimals(result.budgetConsumed, budgetAmount) <= 0;
}
