/**
 * Settling and summing the budget ledger. A settlement appends one row after
 * a key's held reservation: charged with the actual cost, or released. It is
 * appended only when the key's latest row is a reservation, `ON CONFLICT DO
 * NOTHING` on `(idempotency_key, version)`, so a retried or racing duplicate
 * settlement appends nothing. Spend is summed over each key's latest row.
 *
 * @module
 */
import type { Sql, TransactionSql } from "../db/mod.ts";
import { BudgetLedgerError } from "./ledger.ts";

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

/** Appends the settlement after `key`'s held reservation; true when a row was appended. */
async function appendSettlement(
  sql: Sql | TransactionSql,
  key: string,
  settlement: Charge & { readonly status: "charged" | "released" },
): Promise<boolean> {
  const response = settlement.response === null ? null : sql.json(settlement.response as never);
  const rows = await sql`
    INSERT INTO budget_ledger
      (directive_id, idempotency_key, version, provider, model, status, amount, currency,
       input_tokens, output_tokens, attempts, response)
    SELECT l.directive_id, l.idempotency_key, l.version + 1, l.provider, l.model,
           ${settlement.status}::text, ${settlement.amount}::numeric, l.currency,
           ${settlement.inputTokens}::integer, ${settlement.outputTokens}::integer, l.attempts,
           ${response}::jsonb
      FROM (SELECT * FROM budget_ledger WHERE idempotency_key = ${key}
             ORDER BY version DESC LIMIT 1) l
     WHERE l.status = 'reserved'
    ON CONFLICT (idempotency_key, version) DO NOTHING
    RETURNING id`;
  return rows.length === 1;
}

/**
 * Charges the reservation under `key`: appends its final charge.
 *
 * @throws {BudgetLedgerError} when `key` holds no reservation (released or already charged);
 *   nothing is appended then.
 */
export async function charge(sql: Sql, key: string, details: Charge): Promise<void> {
  if (!await appendSettlement(sql, key, { ...details, status: "charged" })) {
    throw new BudgetLedgerError(`Cannot charge key "${key}": it holds no reservation`);
  }
}

const NOTHING = { inputTokens: null, outputTokens: null, response: null } as const;

/** Gives the reservation under `key` back: the call failed and cost nothing. A no-op when none is held. */
export async function release(sql: Sql, key: string): Promise<void> {
  await appendSettlement(sql, key, { ...NOTHING, amount: "0", status: "released" });
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
  await appendSettlement(sql, key, {
    ...NOTHING,
    amount: amount ?? "0",
    status: amount === null ? "released" : "charged",
  });
}

/** A directive's spend so far. */
export interface Spend {
  /** Final charges. */
  readonly charged: string;
  /** Reservations of calls in flight (or of attempts that died mid-call). */
  readonly reserved: string;
}

/** Sums the latest row of each of a directive's keys by state, 4 decimal places each. */
export async function spendOf(sql: Sql, directiveId: string): Promise<Spend> {
  const [row] = await sql<{ charged: string; reserved: string }[]>`
    SELECT coalesce(sum(amount) FILTER (WHERE status = 'charged'), 0)::numeric(18, 4)::text
             AS charged,
           coalesce(sum(amount) FILTER (WHERE status = 'reserved'), 0)::numeric(18, 4)::text
             AS reserved
      FROM (SELECT DISTINCT ON (idempotency_key) status, amount FROM budget_ledger
             WHERE directive_id = ${directiveId}
             ORDER BY idempotency_key, version DESC) latest`;
  return { charged: row?.charged ?? "0.0000", reserved: row?.reserved ?? "0.0000" };
}
