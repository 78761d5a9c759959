/**
 * The dashboard's aggregates, each over a bounded window of whole UTC days
 * ({@linkcode statsWindow}) and each answering a bounded number of rows:
 * directives entering each status per day, how long approvals took, how
 * long runs took per module, spend per type per day, and the most frequent
 * BLOCK reasons. Percentiles are nearest-rank (`percentile_disc`): always a
 * value that was observed.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import { chargedByTypePerDay } from "../budget/mod.ts";
import { DIRECTIVE_STATUSES } from "../models/mod.ts";
import { byDay, type StatsWindow } from "./window.ts";

/** Most modules {@linkcode runDurations} answers. */
export const MODULES_MAX = 50;
/** Most directive types (by spend) {@linkcode spendPerDay} answers. */
export const SPEND_TYPES_MAX = 20;
/** Most reasons {@linkcode blockReasons} may answer. */
export const BLOCK_REASONS_MAX = 50;

/** Directives entering each status, per day. */
export interface StatusPerDay {
  /** The days, oldest first. */
  readonly days: readonly string[];
  /** One series per status (lifecycle order), a count per day. */
  readonly series: { readonly status: string; readonly counts: number[] }[];
}

/**
 * How many directives entered each status on each day, from the transition
 * ledger (a directive enters each status at most once). Every status has a
 * series, zeros included.
 */
export async function statusPerDay(sql: Sql, window: StatsWindow): Promise<StatusPerDay> {
  const rows = await sql<{ day: string; status: string; n: number }[]>`
    SELECT (at AT TIME ZONE 'UTC')::date::text AS day, to_status AS status, count(*)::int AS n
      FROM directive_transitions
     WHERE at >= ${window.start} AND at < ${window.end}
     GROUP BY 1, 2`;
  const series = byDay(window, rows, (r) => r.status, (r) => r.n, 0);
  return {
    days: window.days,
    series: DIRECTIVE_STATUSES.map((status) => ({
      status,
      counts: series.get(status) ?? window.days.map(() => 0),
    })),
  };
}

/** Percentiles of a set of durations, in milliseconds; null when the set is empty. */
export interface Percentiles {
  /** How many durations. */
  readonly n: number;
  /** The median. */
  readonly p50_ms: number | null;
  /** The 95th percentile. */
  readonly p95_ms: number | null;
}

/** How long directives waited for a person's decision. */
export interface ApprovalWaits {
  /** The days, oldest first. */
  readonly days: readonly string[];
  /** Every decision in the window. */
  readonly overall: Percentiles;
  /** Decisions per day, aligned with `days`. */
  readonly per_day: Percentiles[];
  /** Directives waiting in `proposed` now, and since when the oldest waits. */
  readonly waiting_now: { readonly n: number; readonly oldest_since: string | null };
}

type PercentileRow = { day: string | null; n: number; p50: number | null; p95: number | null };

const percentiles = (r: PercentileRow | undefined): Percentiles => ({
  n: r?.n ?? 0,
  p50_ms: r?.p50 ?? null,
  p95_ms: r?.p95 ?? null,
});

/**
 * The time from entering `proposed` to a person's approval or rejection
 * (ledger rows out of `proposed` to `approved`, or to `aborted` with a
 * `rejected: ` reason, whose actor is not the policy), grouped by the day of
 * the decision; plus what waits now.
 */
export async function approvalWaits(sql: Sql, window: StatsWindow): Promise<ApprovalWaits> {
  const rows = await sql<PercentileRow[]>`
    WITH decided AS (
      SELECT t.at,
             extract(epoch FROM t.at - (
               SELECT p.at FROM directive_transitions p
                WHERE p.directive_id = t.directive_id AND p.to_status = 'proposed'
                ORDER BY p.id LIMIT 1)) * 1000 AS ms
        FROM directive_transitions t
       WHERE t.from_status = 'proposed'
         AND (t.to_status = 'approved'
              OR (t.to_status = 'aborted' AND starts_with(t.reason, 'rejected: ')))
         AND NOT starts_with(t.actor, 'policy:')
         AND t.at >= ${window.start} AND t.at < ${window.end})
    SELECT (at AT TIME ZONE 'UTC')::date::text AS day, count(*)::int AS n,
           round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms))::float8 AS p50,
           round(percentile_disc(0.95) WITHIN GROUP (ORDER BY ms))::float8 AS p95
      FROM decided
     GROUP BY GROUPING SETS ((1), ())`;
  const [waiting] = await sql<{ n: number; oldest: Date | null }[]>`
    SELECT count(*)::int AS n, min(created_at) AS oldest FROM directives WHERE status = 'proposed'`;
  const perDay = new Map(rows.map((r) => [r.day, r]));
  return {
    days: window.days,
    overall: percentiles(perDay.get(null)),
    per_day: window.days.map((day) => percentiles(perDay.get(day))),
    waiting_now: { n: waiting?.n ?? 0, oldest_since: waiting?.oldest?.toISOString() ?? null },
  };
}

/** Run durations of one module. */
export interface ModuleDurations extends Percentiles {
  /** The module (directive type). */
  readonly module: string;
  /** The longest run. */
  readonly max_ms: number;
}

/** Durations of runs that ended in the window, per module (at most {@linkcode MODULES_MAX}). */
export async function runDurations(sql: Sql, window: StatsWindow): Promise<ModuleDurations[]> {
  const rows = await sql<{ module: string; n: number; p50: number; p95: number; max: number }[]>`
    SELECT module, count(*)::int AS n,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
           percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
           max(duration_ms) AS max
      FROM execution_runs
     WHERE finished_at >= ${window.start} AND finished_at < ${window.end}
       AND duration_ms IS NOT NULL
     GROUP BY module
     ORDER BY module
     LIMIT ${MODULES_MAX}`;
  return rows.map((r) => ({
    module: r.module,
    n: r.n,
    p50_ms: r.p50,
    p95_ms: r.p95,
    max_ms: r.max,
  }));
}

/** Spend per directive type and currency (never converted), per day. */
export interface SpendPerDay {
  /** The days, oldest first. */
  readonly days: readonly string[];
  /** One series per type and currency, largest total first; amounts have 4 decimals. */
  readonly series: {
    readonly type: string;
    readonly currency: string;
    readonly total: string;
    readonly amounts: string[];
  }[];
}

/** Charged spend per type per day (at most {@linkcode SPEND_TYPES_MAX} series). */
export async function spendPerDay(sql: Sql, window: StatsWindow): Promise<SpendPerDay> {
  const rows = await chargedByTypePerDay(sql, window);
  const key = (r: { type: string; currency: string }) => `${r.type} ${r.currency}`;
  const series = byDay(window, rows, key, (r) => r.amount, "0.0000");
  const totals = new Map<string, bigint>();
  for (const r of rows) {
    totals.set(key(r), (totals.get(key(r)) ?? 0n) + BigInt(r.amount.replace(".", "")));
  }
  const ranked = [...totals.entries()]
    .sort(([ka, a], [kb, b]) => (a === b ? (ka < kb ? -1 : 1) : a > b ? -1 : 1))
    .slice(0, SPEND_TYPES_MAX);
  return {
    days: window.days,
    series: ranked.map(([k, total]) => {
      const [type = "", currency = ""] = k.split(" ");
      const text = total.toString().padStart(5, "0");
      return {
        type,
        currency,
        total: `${text.slice(0, -4)}.${text.slice(-4)}`,
        amounts: series.get(k) ?? [],
      };
    }),
  };
}

/** A BLOCK reason and how often the policy gave it. */
export interface BlockReason {
  /** The rule that blocked. */
  readonly rule: string;
  /** The reason, as recorded. */
  readonly reason: string;
  /** How many verdicts in the window. */
  readonly count: number;
}

/** The most frequent BLOCK verdicts' reasons in the window, most frequent first. */
export async function blockReasons(
  sql: Sql,
  window: StatsWindow,
  limit: number,
): Promise<BlockReason[]> {
  const bounded = Math.min(Math.max(1, Math.trunc(limit)), BLOCK_REASONS_MAX);
  return [
    ...await sql<BlockReason[]>`
      SELECT rule, reason, count(*)::int AS count
        FROM policy_evaluations
       WHERE verdict = 'BLOCK' AND evaluated_at >= ${window.start} AND evaluated_at < ${window.end}
       GROUP BY rule, reason
       ORDER BY count DESC, rule, reason
       LIMIT ${bounded}`,
  ];
}
