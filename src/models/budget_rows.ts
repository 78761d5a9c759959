import { z } from "zod";
import { col, pg } from "./_pg.ts";

/** The states of a budget-ledger row: reserved before a call, then charged or released. */
export const BUDGET_LEDGER_STATUSES = ["reserved", "charged", "released"] as const;

/**
 * A row of `budget_ledger`: one model-provider call's cost against its
 * directive, one row per activity idempotency key.
 */
export const BudgetLedgerRow = z.strictObject({
  id: col.uuid(),
  directive_id: col.uuid(),
  idempotency_key: col.text(500),
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
  updated_at: col.timestamp(),
});
/** A row of `budget_ledger`. */
export type BudgetLedgerRow = z.infer<typeof BudgetLedgerRow>;

/** What reserving a call takes. */
export const NewBudgetLedgerRow = BudgetLedgerRow.pick({
  directive_id: true,
  idempotency_key: true,
  provider: true,
  model: true,
  amount: true,
  currency: true,
});
/** What reserving a call takes. */
export type NewBudgetLedgerRow = z.infer<typeof NewBudgetLedgerRow>;

/**
 * A row of `budget_ledger_events`: one state a budget-ledger row took, appended
 * by the database on every insert and update of `budget_ledger`. No role may
 * change or delete it.
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
