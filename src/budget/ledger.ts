/**
 * The budget ledger: provider spend against a directive's budget, one row per
 * activity idempotency key. A call reserves its worst case first (refused when
 * that would exceed the budget), then is charged its actual cost or released.
 * A charged key is final: a retry gets the recorded answer and pays nothing.
 *
 * @module
 */
import type { Sql, TransactionSql } from "../db/mod.ts";
import { scaledDecimal } from "../models/mod.ts";
import { formatScaled } from "../models/mod.ts";

/** Thrown when a call's worst-case cost would take a directive over its budget. */
export class BudgetExceededError extends Error {
  /** The directive. */
  readonly directiveId: string;
  /** Already reserved or charged, 4 decimal places. */
  readonly spent: string;
  /** The refused call's worst-case cost. */
  readonly estimate: string;
  /** The directive's budget. */
  readonly budget: string;
  /** Creates the error. */
  constructor(
    facts: {
      directiveId: string;
      spent: string;
      estimate: string;
      budget: string;
      currency: string;
      /** What was refused, e.g. `run module "echo"`; default `call a model`. */
      action?: string;
    },
    options?: ErrorOptions,
  ) {
    super(
      `Cannot ${facts.action ?? "call a model"} for directive "${facts.directiveId}": ` +
        `${facts.spent} ${facts.currency} ` +
        `is already spent or reserved and the call may cost up to ${facts.estimate} ` +
        `${facts.currency}, over the budget of ${facts.budget} ${facts.currency}`,
      options,
    );
    this.name = "BudgetExceededError";
    this.directiveId = facts.directiveId;
    this.spent = facts.spent;
    this.estimate = facts.estimate;
    this.budget = facts.budget;
  }
}

/** Thrown when the ledger cannot be used for a call: unknown directive, currency, key reuse. */
export class BudgetLedgerError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BudgetLedgerError";
  }
}

/** What a reservation records. */
export interface Reservation {
  /** The directive paying. */
  readonly directiveId: string;
  /** The activity's idempotency key. */
  readonly key: string;
  /** e.g. `anthropic`. */
  readonly provider: string;
  /** The requested model. */
  readonly model: string;
  /** Worst-case cost, 4 decimal places. */
  readonly estimate: string;
  /** The estimate's currency. */
  readonly currency: string;
  /** What is paying, for a refusal's message, e.g. `run module "echo"`; default `call a model`. */
  readonly action?: string;
}

/** The outcome of {@linkcode reserve}. */
export type ReserveResult =
  | { readonly state: "reserved"; readonly attempts: number }
  | { readonly state: "charged"; readonly amount: string; readonly response: unknown };

function decimalText(value: string): string {
  return formatScaled(scaledDecimal(value));
}

/**
 * Reserves `estimate` for `key`, or returns the earlier charge when `key` was
 * already charged. The directive row is locked (`FOR NO KEY UPDATE`, which
 * still lets other tables insert rows referencing it) so concurrent calls
 * against one budget are checked one at a time.
 *
 * @throws {BudgetExceededError} when spent + estimate would exceed the budget.
 * @throws {BudgetLedgerError} for an unknown directive, another currency, or a
 *   key already used for another directive.
 */
export async function reserve(sql: Sql, reservation: Reservation): Promise<ReserveResult> {
  return await sql.begin(async (tx) => {
    const [directive] = await tx<{ budget: string; currency: string; status: string }[]>`
      SELECT budget_amount::text AS budget, budget_currency AS currency, status
      FROM directives WHERE id = ${reservation.directiveId} FOR NO KEY UPDATE`;
    if (!directive) {
      throw new BudgetLedgerError(
        `Cannot reserve budget for directive "${reservation.directiveId}": no such directive`,
      );
    }
    if (directive.status !== "executing") {
      throw new BudgetLedgerError(
        `Cannot reserve ${reservation.estimate} ${reservation.currency} against directive ` +
          `"${reservation.directiveId}": it is ${directive.status}, and only an executing ` +
          `directive may spend`,
      );
    }
    const [existing] = await tx<
      { directive_id: string; status: string; amount: string; response: unknown }[]
    >`
      SELECT directive_id, status, amount::text AS amount, response
      FROM budget_ledger WHERE idempotency_key = ${reservation.key}`;
    if (existing && existing.directive_id !== reservation.directiveId) {
      throw new BudgetLedgerError(
        `Cannot reserve budget under key "${reservation.key}": it belongs to directive ` +
          `"${existing.directive_id}", not "${reservation.directiveId}"`,
      );
    }
    if (existing?.status === "charged") {
      return { state: "charged", amount: existing.amount, response: existing.response };
    }
    if (directive.currency !== reservation.currency) {
      throw new BudgetLedgerError(
        `Cannot reserve ${reservation.estimate} ${reservation.currency} against directive ` +
          `"${reservation.directiveId}": its budget is in ${directive.currency}, and Keel ` +
          `never converts currencies`,
      );
    }
    const [spentRow] = await tx<{ spent: string }[]>`
      SELECT coalesce(sum(amount), 0)::text AS spent FROM budget_ledger
      WHERE directive_id = ${reservation.directiveId}
        AND status IN ('reserved', 'charged')
        AND idempotency_key <> ${reservation.key}`;
    const spent = scaledDecimal(spentRow?.spent ?? "0");
    const estimate = scaledDecimal(reservation.estimate);
    const budget = scaledDecimal(directive.budget);
    if (spent + estimate > budget) {
      throw new BudgetExceededError({
        directiveId: reservation.directiveId,
        spent: formatScaled(spent),
        estimate: formatScaled(estimate),
        budget: decimalText(directive.budget),
        currency: directive.currency,
        ...(reservation.action === undefined ? {} : { action: reservation.action }),
      });
    }
    const [row] = await tx<{ attempts: number }[]>`
      INSERT INTO budget_ledger
        (directive_id, idempotency_key, provider, model, status, amount, currency)
      VALUES (${reservation.directiveId}, ${reservation.key}, ${reservation.provider},
        ${reservation.model}, 'reserved', ${reservation.estimate}, ${reservation.currency})
      ON CONFLICT (idempotency_key) DO UPDATE
        SET status = 'reserved', amount = EXCLUDED.amount, model = EXCLUDED.model,
            attempts = budget_ledger.attempts + 1, updated_at = now()
        WHERE budget_ledger.status <> 'charged'
      RETURNING attempts`;
    if (!row) {
      throw new BudgetLedgerError(`Cannot reserve under key "${reservation.key}": it was charged`);
    }
    return { state: "reserved", attempts: row.attempts };
  });
}

/** What a charge records. */
export interface Charge {
  /** The actual cost, 4 decimal places. */
  readonly amount: string;
  /** Tokens read; `null` when unknown (a malformed answer charged at its estimate). */
  readonly inputTokens: number | null;
  /** Tokens written; `null` when unknown. */
  readonly outputTokens: number | null;
  /** The normalized answer a retry gets back; `null` when there is none. */
  readonly response: unknown;
}

/**
 * Turns the reservation under `key` into a final charge.
 *
 * @throws {BudgetLedgerError} when `key` holds no reservation (released or already charged).
 */
export async function charge(sql: Sql, key: string, details: Charge): Promise<void> {
  const rows = await sql`
    UPDATE budget_ledger
    SET status = 'charged', amount = ${details.amount}, input_tokens = ${details.inputTokens},
        output_tokens = ${details.outputTokens},
        response = ${details.response === null ? null : sql.json(details.response as never)},
        updated_at = now()
    WHERE idempotency_key = ${key} AND status = 'reserved'
    RETURNING id`;
  if (rows.length !== 1) {
    throw new BudgetLedgerError(`Cannot charge key "${key}": it holds no reservation`);
  }
}

/** Gives the reservation under `key` back: the call failed and cost nothing. */
export async function release(sql: Sql, key: string): Promise<void> {
  await sql`
    UPDATE budget_ledger SET status = 'released', amount = 0, updated_at = now()
    WHERE idempotency_key = ${key} AND status = 'reserved'`;
}

/** A directive's spend so far. */
export interface Spend {
  /** Final charges. */
  readonly charged: string;
  /** Reservations of calls in flight (or of attempts that died mid-call). */
  readonly reserved: string;
}

/** Sums a directive's ledger rows by state, 4 decimal places each. */
export async function spendOf(sql: Sql, directiveId: string): Promise<Spend> {
  const [row] = await sql<{ charged: string; reserved: string }[]>`
    SELECT coalesce(sum(amount) FILTER (WHERE status = 'charged'), 0)::numeric(18, 4)::text
             AS charged,
           coalesce(sum(amount) FILTER (WHERE status = 'reserved'), 0)::numeric(18, 4)::text
             AS reserved
    FROM budget_ledger WHERE directive_id = ${directiveId}`;
  return { charged: row?.charged ?? "0.0000", reserved: row?.reserved ?? "0.0000" };
}

/**
 * Settles the reservation under `key`, if one is still held: charged `amount`,
 * or released when `amount` is `null`. Meant to run in the transaction that
 * records what the spending bought, so the two are written together or not
 * at all.
 */
export async function settleReservation(
  sql: Sql | TransactionSql,
  key: string,
  amount: string | null,
): Promise<void> {
  await sql`
    UPDATE budget_ledger
       SET status = ${amount === null ? "released" : "charged"}, amount = ${amount ?? "0"},
           updated_at = now()
     WHERE idempotency_key = ${key} AND status = 'reserved'`;
}
