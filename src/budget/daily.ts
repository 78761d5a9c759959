/**
 * Charged spend per directive type, currency and UTC day, for the
 * dashboard's overview (`src/stats/`). A key is charged once and a charge is
 * final, so the rows in state `charged` are the spend; each counts on the day
 * of its row's `created_at`.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** One day's charges for one directive type in one currency. */
export interface DailyCharge {
  /** `YYYY-MM-DD` (UTC), the day of the charged row's `created_at`. */
  readonly day: string;
  /** The directive type. */
  readonly type: string;
  /** The currency (never converted). */
  readonly currency: string;
  /** The sum, 4 decimal places. */
  readonly amount: string;
}

/** Charged rows created from `start` (inclusive) to `end` (exclusive), summed per day, type and currency. */
export async function chargedByTypePerDay(
  sql: Sql,
  window: { readonly start: Date; readonly end: Date },
): Promise<DailyCharge[]> {
  return [
    ...await sql<DailyCharge[]>`
      SELECT (b.created_at AT TIME ZONE 'UTC')::date::text AS day, d.type, b.currency::text,
             sum(b.amount)::numeric(18, 4)::text AS amount
        FROM budget_ledger b JOIN directives d ON d.id = b.directive_id
       WHERE b.status = 'charged' AND b.created_at >= ${window.start}
         AND b.created_at < ${window.end}
       GROUP BY 1, 2, 3
       ORDER BY 1, 2, 3`,
  ];
}
