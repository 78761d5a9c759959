/**
 * Helpers for the reliability suites: hold a row lock or a unique key from a
 * session of the test's own so a worker's activity stops at an exact step,
 * see that it is stuck there, and count every effect a directive left.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import { connect, type Sql } from "../src/db/mod.ts";
import { eventually, ledgerOf, runsOf } from "./_loop.ts";

/** An open transaction on its own connection that blocks some activity. */
export interface Blocker {
  /** The backend holding the lock. */
  readonly pid: number;
  /** Resolves once some other session waits on this one. */
  blocking(what: string): Promise<void>;
  /** Rolls back (leaving nothing) and closes the connection. */
  release(): Promise<void>;
}

/**
 * Opens a transaction as the owner and runs `hold` in it: a `FOR UPDATE` on a
 * directive stops every write that checks a foreign key to it; an
 * uncommitted row with a unique key stops an insert of the same key.
 */
export async function block(
  ownerUrl: string,
  hold: (sql: Sql) => Promise<unknown>,
): Promise<Blocker> {
  const sql = connect(ownerUrl, { max: 1 });
  // Statistics views are a snapshot for the length of a transaction, so the
  // waits are watched from a connection of their own.
  const probe = connect(ownerUrl, { max: 1 });
  await sql`BEGIN`;
  await hold(sql);
  const [row] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  const pid = row?.pid ?? -1;
  return {
    pid,
    async blocking(what) {
      try {
        await eventually(async () => {
          const [waiting] = await probe<{ n: number }[]>`
            SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE ${pid}::int = ANY(pg_blocking_pids(pid))`;
          return (waiting?.n ?? 0) > 0;
        }, what);
      } catch (error) {
        const sessions = await probe`
          SELECT pid, state, wait_event_type, pg_blocking_pids(pid) AS blockers, left(query, 120) AS q
            FROM pg_stat_activity WHERE datname = current_database()`;
        throw new Error(`${(error as Error).message}; sessions: ${JSON.stringify(sessions)}`, {
          cause: error,
        });
      }
    },
    async release() {
      await sql`ROLLBACK`;
      await sql.end({ timeout: 5 });
      await probe.end({ timeout: 5 });
    },
  };
}

/** Holds `FOR UPDATE` on a directive row. */
export function lockDirective(id: string): (sql: Sql) => Promise<unknown> {
  return (sql) => sql`SELECT id FROM directives WHERE id = ${id} FOR UPDATE`;
}

/** Every effect of a directive, counted per table. */
export interface Effects {
  readonly policy: number;
  readonly approvals: number;
  readonly runs: number;
  readonly artifacts: number;
  readonly evaluations: number;
  readonly transitions: number;
  /** Charges in `budget_ledger` (rows in state `charged`), when that table exists (0 otherwise). */
  readonly charges: number;
  /**
   * Every row in `budget_ledger`: each state of each key (a reservation, then
   * its charge or release), appended once however often a step was retried.
   */
  readonly budgetRows: number;
}

/** Counts the rows a directive has in each table the loop writes. */
export async function effectsOf(sql: Sql, id: string): Promise<Effects> {
  const [row] = await sql<Omit<Effects, "charges" | "budgetRows">[]>`
    SELECT (SELECT count(*)::int FROM policy_evaluations WHERE directive_id = ${id}) AS policy,
           (SELECT count(*)::int FROM approvals WHERE directive_id = ${id}) AS approvals,
           (SELECT count(*)::int FROM execution_runs WHERE directive_id = ${id}) AS runs,
           (SELECT count(*)::int FROM artifacts WHERE directive_id = ${id}) AS artifacts,
           (SELECT count(*)::int FROM evaluations WHERE directive_id = ${id}) AS evaluations,
           (SELECT count(*)::int FROM directive_transitions WHERE directive_id = ${id}) AS transitions`;
  const [ledger] = await sql<{ present: boolean }[]>`
    SELECT to_regclass('budget_ledger') IS NOT NULL AS present`;
  let charges = 0;
  let budgetRows = 0;
  if (ledger?.present) {
    const [count] = await sql<{ charged: number; rows: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'charged')::int AS charged, count(*)::int AS rows
        FROM budget_ledger WHERE directive_id = ${id}`;
    charges = count?.charged ?? 0;
    budgetRows = count?.rows ?? 0;
  }
  return {
    policy: 0,
    approvals: 0,
    runs: 0,
    artifacts: 0,
    evaluations: 0,
    transitions: 0,
    ...row,
    charges,
    budgetRows,
  };
}

/** The ledger of a loop that went through every step once. */
export const COMPLETE_LEDGER = [
  "∅>draft",
  "draft>proposed",
  "proposed>approved",
  "approved>executing",
  "executing>complete",
];

/**
 * Asserts a directive completed through every step exactly once: one policy
 * verdict, one approval, one run (attempt 1, SUCCESS), one evaluation, the
 * given number of artifacts, the run's reservation and its one charge (two
 * budget rows), and the five-row ledger.
 */
export async function assertCompletedOnce(
  sql: Sql,
  id: string,
  options: { artifacts: number; label: string },
): Promise<void> {
  assertEquals(
    (await runsOf(sql, id)).map((r) => [r.attempt, r.status, r.outcome]),
    [[1, "completed", "SUCCESS"]],
    options.label,
  );
  assertEquals(await effectsOf(sql, id), {
    policy: 1,
    approvals: 1,
    runs: 1,
    artifacts: options.artifacts,
    evaluations: 1,
    transitions: 5,
    charges: 1,
    budgetRows: 2,
  }, options.label);
  assertEquals(await ledgerOf(sql, id), COMPLETE_LEDGER, options.label);
}

/** Rejects after `ms` unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
