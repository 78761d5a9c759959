/**
 * The window an aggregate covers: whole UTC days, the last `days` of them up
 * to and including today, and helpers to lay sparse rows out day by day.
 *
 * @module
 */

/** The most days an aggregate may cover. */
export const STATS_DAYS_MAX = 90;

const DAY_MS = 86_400_000;

/** A window of whole UTC days. */
export interface StatsWindow {
  /** Midnight UTC of the first day (inclusive). */
  readonly start: Date;
  /** Midnight UTC after the last day (exclusive). */
  readonly end: Date;
  /** Each day as `YYYY-MM-DD`, oldest first. */
  readonly days: readonly string[];
}

/** Thrown for a window outside 1 to {@linkcode STATS_DAYS_MAX} days. */
export class StatsWindowError extends RangeError {
  /** Creates the error. */
  constructor(days: number, options?: ErrorOptions) {
    super(`days must be an integer from 1 to ${STATS_DAYS_MAX}, not ${days}`, options);
    this.name = "StatsWindowError";
  }
}

/** The last `days` whole UTC days up to and including the day of `now`. */
export function statsWindow(days: number, now: Date): StatsWindow {
  if (!Number.isInteger(days) || days < 1 || days > STATS_DAYS_MAX) {
    throw new StatsWindowError(days);
  }
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const start = today - (days - 1) * DAY_MS;
  const list: string[] = [];
  for (let day = start; day <= today; day += DAY_MS) {
    list.push(new Date(day).toISOString().slice(0, 10));
  }
  return { start: new Date(start), end: new Date(today + DAY_MS), days: list };
}

/**
 * Lays `rows` (one per day and key) out as one series per key, a value for
 * every day of `window` (`empty` where no row is).
 */
export function byDay<R extends { day: string }, V>(
  window: StatsWindow,
  rows: readonly R[],
  keyOf: (row: R) => string,
  valueOf: (row: R) => V,
  empty: V,
): Map<string, V[]> {
  const index = new Map(window.days.map((day, i) => [day, i]));
  const series = new Map<string, V[]>();
  for (const row of rows) {
    const at = index.get(row.day);
    if (at === undefined) continue;
    const key = keyOf(row);
    let values = series.get(key);
    if (values === undefined) {
      values = window.days.map(() => empty);
      series.set(key, values);
    }
    values[at] = valueOf(row);
  }
  return series;
}
