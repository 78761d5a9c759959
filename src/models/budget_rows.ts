import { z } from "zod";
import { col, pg } from "./_pg.ts";

/**
 * The states of a budget-ledger row: reserved before a call, then charged or
 * released (and reserved again after a release, for a retried call).
 */
export const BUDGET_LEDGER_STATUSES = ["reserved", "charged", "released"] as const;

/**
 * A row of `budget_ledger`: one state of a call's cost against its directive.
 * Rows are append-only: each state an activity idempotency key takes is a new
 * row with the next `version`, and the key's current state is its highest
 * version.
 */
export const BudgetLedgerRow = z.strictObject({
  id: col.uuid(),
  directive_id: col.uuid(),
  idempotency_key: col.text(500),
  version: col.integer().min(1),
  provider: col.slug(),
  model: col.text(200),
  status: pg("text", z.enum(BUDGET_LEDGER_STATUSES)),
  amount: col.decimal(),
  currency: col.currency(),
  input_tokens: col.integer().min(0).nullable(),
  output_tokens: col.integer().min(0).nullable(),
  attempts: col.integer().min(1),
  response: col.json().nullable(),
  created_at: col.timestamp(),
});
/** A row of `budget_ledger`. */
export type BudgetLedgerRow = z.infer<typeof BudgetLedgerRow>;

/** What reserving a call takes: its key's first row. */
export const NewBudgetLedgerRow = BudgetLedgerRow.pick({
  directive_id: true,
  idempotency_key: true,
  version: true,
  provider: true,
  model: true,
  amount: true,
  currency: true,
});
/** What reserving a call takes. */
export type NewBudgetLedgerRow = z.infer<typeof NewBudgetLedgerRow>;

/**
 * A row of `budget_ledger_events`: the trail of `budget_ledger`, appended by
 * the database for every row appended to it (and, before migration 0012, for
 * every update). No role may change or delete it.
 */
export const BudgetLedgerEventRow = z.strictObject({
  id: col.bigintId(),
  budget_ledger_id: col.uuid(),
  directive_id: col.uuid(),
  idempotency_key: col.text(500),
  status: pg("text", z.enum(BUDGET_LEDGER_STATUSES)),
  amount: col.decimal(),
  currency: col.currency(),
  attempts: col.integer().min(1),
  at: col.timestamp(),
});
/** A row of `budget_ledger_events`. */
export type BudgetLedgerEventRow = z.infer<typeof BudgetLedgerEventRow>;

/** What the database's trigger appends (the owner may append too). */
export const NewBudgetLedgerEventRow = BudgetLedgerEventRow.omit({ id: true, at: true });
/** What appending a budget event takes. */
export type NewBudgetLedgerEventRow = z.infer<typeof NewBudgetLedgerEventRow>;
