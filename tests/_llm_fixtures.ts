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

/** Each of a directive's budget keys in its current state (the key's latest row), oldest key first. */
export async function ledgerRows(sql: Sql, directiveId: string): Promise<BudgetLedgerRow[]> {
  return await sql<BudgetLedgerRow[]>`
    SELECT * FROM (
      SELECT DISTINCT ON (idempotency_key) id, directive_id, idempotency_key, version, provider,
        model, status, amount::text AS amount, currency, input_tokens, output_tokens, attempts,
        response, created_at
      FROM budget_ledger WHERE directive_id = ${directiveId}
      ORDER BY idempotency_key, version DESC) latest
    ORDER BY (SELECT min(b.created_at) FROM budget_ledger b
               WHERE b.idempotency_key = latest.idempotency_key), idempotency_key`;
}

/** Every budget row a directive appended, as `[key, version, status, amount]`, in append order. */
export async function ledgerHistory(
  sql: Sql,
  directiveId: string,
): Promise<[string, number, string, string][]> {
  const rows = await sql<{ key: string; version: number; status: string; amount: string }[]>`
    SELECT idempotency_key AS key, version, status, amount::text AS amount
      FROM budget_ledger WHERE directive_id = ${directiveId}
     ORDER BY created_at, idempotency_key, version`;
  return rows.map((r) => [r.key, r.version, r.status, r.amount]);
}
