/** Helpers for the LLM suites: a directive to pay for calls, and ledger rows. */
import type { Sql } from "../src/db/mod.ts";
import { transitionDirective } from "../src/directives/mod.ts";
import type { BudgetLedgerRow } from "../src/models/budget_rows.ts";

/** Inserts a directive with the given budget, moved to `executing` unless told not to; returns its id. */
export async function insertDirective(
  sql: Sql,
  budget: { amount: string; currency: string },
  options: { executing?: boolean } = {},
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO directives (type, issued_by, submitted_by, objective, budget_amount,
      budget_currency, timebox_seconds, idempotency_key)
    VALUES ('echo', 'llm-test', 'llm-test', 'Pay for model calls', ${budget.amount}, ${budget.currency},
      300, ${`llm-test-${crypto.randomUUID()}`})
    RETURNING id`;
  if (!row) throw new Error("INSERT INTO directives returned no row");
  // Only an executing directive may spend: walk it there through the mutator.
  if (options.executing ?? true) {
    for (const to of ["proposed", "approved", "executing"] as const) {
      await transitionDirective(sql, { directiveId: row.id, to, actor: "llm-test", reason: to });
    }
  }
  return row.id;
}

/** Every ledger row of a directive, oldest first, amounts as text. */
export async function ledgerRows(sql: Sql, directiveId: string): Promise<BudgetLedgerRow[]> {
  return await sql<BudgetLedgerRow[]>`
    SELECT id, directive_id, idempotency_key, provider, model, status, amount::text AS amount,
      currency, input_tokens, output_tokens, attempts, response, created_at, updated_at
    FROM budget_ledger WHERE directive_id = ${directiveId} ORDER BY created_at, id`;
}
