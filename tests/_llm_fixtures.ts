/** Helpers for the LLM suites: a directive to pay for calls, and ledger rows. */
import type { Sql } from "../src/db/mod.ts";
import type { BudgetLedgerRow } from "../src/models/budget_rows.ts";

/** Inserts a draft directive with the given budget and returns its id. */
export async function insertDirective(
  sql: Sql,
  budget: { amount: string; currency: string },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO directives (type, issued_by, objective, budget_amount, budget_currency,
      timebox_seconds, idempotency_key)
    VALUES ('echo', 'llm-test', 'Pay for model calls', ${budget.amount}, ${budget.currency},
      300, ${`llm-test-${crypto.randomUUID()}`})
    RETURNING id`;
  if (!row) throw new Error("INSERT INTO directives returned no row");
  return row.id;
}

/** Every ledger row of a directive, oldest first, amounts as text. */
export async function ledgerRows(sql: Sql, directiveId: string): Promise<BudgetLedgerRow[]> {
  return await sql<BudgetLedgerRow[]>`
    SELECT id, directive_id, idempotency_key, provider, model, status, amount::text AS amount,
      currency, input_tokens, output_tokens, attempts, response, created_at, updated_at
    FROM budget_ledger WHERE directive_id = ${directiveId} ORDER BY created_at, id`;
}
