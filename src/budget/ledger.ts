/**
 * The budget ledger: provider spend against a directive's budget, keyed by
 * activity idempotency key. A call reserves its worst case first (refused when
 * that would exceed the budget), then is charged its actual cost or released.
 * A charged key is final: a retry gets the recorded answer and pays nothing.
 *
 * The ledger is append-only (migration 0012): each state a key takes is a new
 * row, numbered by `version` within the key, and the key's current state is
 * its highest version. Every append is `ON CONFLICT DO NOTHING` on
 * `(idempotency_key, version)`, so a retried or racing duplicate appends once.
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
  /**
   * A cost that follows completion by design (remembering the directive):
   * allowed on a `complete` directive too, within the same budget.
   */
  readonly afterCompletion?: boolean;
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

/** A key's latest row: its current state. */
interface Latest {
  readonly directive_id: string;
  readonly version: number;
  readonly status: string;
  readonly model: string;
  readonly amount: string;
  readonly attempts: number;
  readonly response: unknown;
}

async function latestOf(sql: Sql | TransactionSql, key: string): Promise<Latest | undefined> {
  const [row] = await sql<Latest[]>`
    SELECT directive_id, version, status, model, amount::text AS amount, attempts, response
      FROM budget_ledger WHERE idempotency_key = ${key}
     ORDER BY version DESC LIMIT 1`;
  return row;
}

/** How often a reservation re-reads a key that a concurrent settlement appended to. */
const RESERVE_TRIES = 3;

/**
 * Reserves `estimate` for `key`, or returns the earlier charge when `key` was
 * already charged. The directive row is locked (`FOR NO KEY UPDATE`, which
 * still lets other tables insert rows referencing it) so concurrent calls
 * against one budget are checked one at a time. A key that already holds a
 * reservation of the same estimate and model (a retried call) appends nothing;
 * a released key, or a held one with another estimate, appends a new
 * reservation counting the attempt.
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
    const open = directive.status === "executing" ||
      (reservation.afterCompletion === true && directive.status === "complete");
    if (!open) {
      throw new BudgetLedgerError(
        `Cannot reserve ${reservation.estimate} ${reservation.currency} against directive ` +
          `"${reservation.directiveId}": it is ${directive.status}, and only an executing ` +
          `directive may spend`,
      );
    }
    for (let tries = 1;; tries++) {
      const result = await reserveOnce(tx, reservation, directive);
      if (result) return result;
      if (tries >= RESERVE_TRIES) {
        throw new Error(
          `Cannot reserve under key "${reservation.key}": it was appended to concurrently ` +
            `${tries} times; try again`,
        );
      }
    }
  });
}

/** One try of {@linkcode reserve} under the directive lock; `undefined` when a concurrent append won. */
async function reserveOnce(
  tx: TransactionSql,
  reservation: Reservation,
  directive: { budget: string; currency: string },
): Promise<ReserveResult | undefined> {
  const latest = await latestOf(tx, reservation.key);
  if (latest && latest.directive_id !== reservation.directiveId) {
    throw new BudgetLedgerError(
      `Cannot reserve budget under key "${reservation.key}": it belongs to directive ` +
        `"${latest.directive_id}", not "${reservation.directiveId}"`,
    );
  }
  if (latest?.status === "charged") {
    return { state: "charged", amount: latest.amount, response: latest.response };
  }
  if (directive.currency !== reservation.currency) {
    throw new BudgetLedgerError(
      `Cannot reserve ${reservation.estimate} ${reservation.currency} against directive ` +
        `"${reservation.directiveId}": its budget is in ${directive.currency}, and Keel ` +
        `never converts currencies`,
    );
  }
  const estimate = scaledDecimal(reservation.estimate);
  if (
    latest?.status === "reserved" && latest.model === reservation.model &&
    scaledDecimal(latest.amount) === estimate
  ) {
    return { state: "reserved", attempts: latest.attempts };
  }
  const [spentRow] = await tx<{ spent: string }[]>`
    SELECT coalesce(sum(amount), 0)::text AS spent
      FROM (SELECT DISTINCT ON (idempotency_key) status, amount FROM budget_ledger
             WHERE directive_id = ${reservation.directiveId}
               AND idempotency_key <> ${reservation.key}
             ORDER BY idempotency_key, version DESC) latest
     WHERE status IN ('reserved', 'charged')`;
  const spent = scaledDecimal(spentRow?.spent ?? "0");
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
  const attempts = latest ? latest.attempts + 1 : 1;
  const appended = await tx`
    INSERT INTO budget_ledger
      (directive_id, idempotency_key, version, provider, model, status, amount, currency, attempts)
    VALUES (${reservation.directiveId}, ${reservation.key}, ${(latest?.version ?? 0) + 1},
      ${reservation.provider}, ${reservation.model}, 'reserved', ${reservation.estimate},
      ${reservation.currency}, ${attempts})
    ON CONFLICT (idempotency_key, version) DO NOTHING
    RETURNING id`;
  return appended.length === 1 ? { state: "reserved", attempts } : undefined;
}
