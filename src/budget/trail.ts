/**
 * The budget trail's audit: every `budget_ledger` row must be in the state its
 * last `budget_ledger_events` row (append-only, written by the database on
 * every insert and update) recorded. A row rewritten behind the triggers'
 * back, or a row without a trail, is named.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** A budget row that does not match its trail. */
export interface BudgetTrailFinding {
  /** The directive charged. */
  readonly directiveId: string;
  /** The activity idempotency key of the row. */
  readonly idempotencyKey: string;
  /** What is wrong. */
  readonly problem: string;
}

/**
 * Compares each budget row with its latest event: status, amount, currency
 * and attempts. Reads in a REPEATABLE READ, READ ONLY transaction.
 */
export async function auditBudgetTrail(sql: Sql): Promise<BudgetTrailFinding[]> {
  type Row = { directive_id: string; key: string; now: string; trail: string | null };
  const rows = await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", (tx) =>
    tx<Row[]>`
      SELECT b.directive_id, b.idempotency_key AS key,
             concat_ws(' ', b.status, b.amount::text, b.currency, b.attempts::text) AS now,
             (SELECT concat_ws(' ', e.status, e.amount::text, e.currency, e.attempts::text)
                FROM budget_ledger_events e
               WHERE e.budget_ledger_id = b.id ORDER BY e.id DESC LIMIT 1) AS trail
        FROM budget_ledger b
       ORDER BY b.created_at, b.id`) as Row[];
  return rows.filter((r) => r.now !== r.trail).map((r) => ({
    directiveId: r.directive_id,
    idempotencyKey: r.key,
    problem: r.trail === null
      ? `budget row "${r.key}" of directive ${r.directive_id} has no trail in budget_ledger_events`
      : `budget row "${r.key}" of directive ${r.directive_id} is "${r.now}" but its trail last recorded "${r.trail}": it was rewritten`,
  }));
}
