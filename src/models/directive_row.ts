import { z } from "zod";
import { col, pg } from "./_pg.ts";
import { DIRECTIVE_STATUSES } from "./statuses.ts";

const status = () => pg("text", z.enum(DIRECTIVE_STATUSES));

/** A row of `directives`, as the database returns it. */
export const DirectiveRow = z.strictObject({
  id: col.uuid(),
  type: col.slug(),
  issued_by: col.text(200),
  /** Who submitted it (the authenticated principal); the creation ledger row's actor. */
  submitted_by: col.text(200),
  objective: col.text(4000),
  scope: col.textArray(),
  constraints: col.textArray(),
  success_metrics: col.textArray(),
  budget_amount: col.decimal(),
  budget_currency: col.currency(),
  timebox_seconds: col.integer().positive(),
  payload: col.json(),
  idempotency_key: col.text(200),
  status: status(),
  version: col.integer().min(1),
  created_at: col.timestamp(),
  updated_at: col.timestamp(),
  /** The trace the directive was submitted in (32 hex), when tracing was on. */
  trace_id: col.text(32).nullable(),
});
/** A row of `directives`. */
export type DirectiveRow = z.infer<typeof DirectiveRow>;

/** What inserting a directive row takes; the database fills the rest. */
export const NewDirectiveRow = DirectiveRow.pick({
  type: true,
  issued_by: true,
  submitted_by: true,
  objective: true,
  scope: true,
  constraints: true,
  success_metrics: true,
  budget_amount: true,
  budget_currency: true,
  timebox_seconds: true,
  payload: true,
  idempotency_key: true,
});
/** What inserting a directive row takes. */
export type NewDirectiveRow = z.infer<typeof NewDirectiveRow>;

/** A row of the append-only `directive_transitions` ledger. */
export const TransitionRow = z.strictObject({
  id: col.bigintId(),
  directive_id: col.uuid(),
  from_status: status().nullable(),
  to_status: status(),
  actor: col.text(200),
  reason: col.text(2000),
  at: col.timestamp(),
  prev_hash: col.sha256(),
  hash: col.sha256(),
  /** The row's place in its directive's ledger: 1 for the creation row, no gaps. */
  seq: col.integer().min(1),
});
/** A row of `directive_transitions`. */
export type TransitionRow = z.infer<typeof TransitionRow>;

/** What appending a ledger row takes; the database fills the time and the hash chain. */
export const NewTransitionRow = TransitionRow.omit({
  id: true,
  at: true,
  prev_hash: true,
  hash: true,
  seq: true,
});
/** What appending a ledger row takes. */
export type NewTransitionRow = z.infer<typeof NewTransitionRow>;
