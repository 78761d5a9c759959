/**
 * Charged spend per directive type, currency and UTC day, for the
 * dashboard's overview (`src/stats/`).
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** One day's charges for one directive type in one currency. */
export interface DailyCharge {
  /** `YYYY-MM-DD` (UTC), the day of the charge. */
  readonly day: string;
  /** The directive type. */
  readonly type: string;
  /** The currency (never converted). */
  readonly currency: string;
  /** The sum, 4 decimal places. */
  readonly amount: string;
}

/** Final charges made from `start` (inclusive) to `end` (exclusive), summed per day, type and currency. */
export async function chargedByTypePerDay(
  sql: Sql,
  window: { readonly start: Date; readonly end: Date },
): Promise<DailyCharge[]> {
  return [
    ...await sql<DailyCharge[]>`
      SELECT (b.updated_at AT TIME ZONE 'UTC')::date::text AS day, d.type, b.currency::text,
             sum(b.amount)::numeric(18, 4)::text AS amount
        FROM budget_ledger b JOIN directives d ON d.id = b.directive_id
       WHERE b.status = 'charged' AND b.updated_at >= ${window.start}
         AND b.updated_at < ${window.end}
       GROUP BY 1, 2, 3
       ORDER BY 1, 2, 3`,
  ];
}
