import type { DirectiveInput, DirectiveRow } from "../models/mod.ts";

/** The frozen intent of a stored directive, in the contract's normalised shape. */
export function intentOf(row: DirectiveRow): DirectiveInput {
  return {
    type: row.type,
    issued_by: row.issued_by,
    objective: row.objective,
    scope: row.scope,
    constraints: row.constraints,
    success_metrics: row.success_metrics,
    budget: { amount: row.budget_amount, currency: row.budget_currency },
    timebox: row.timebox_seconds,
    payload: (row.payload ?? {}) as Record<string, unknown>,
    idempotency_key: row.idempotency_key,
  };
}
