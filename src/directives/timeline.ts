/**
 * A directive's phases, read from its transition ledger: each status it
 * entered, when, who moved it there and why, and how long it stayed. Pure.
 *
 * @module
 */
import type { DirectiveStatus } from "../models/mod.ts";
import { isTerminal } from "./lifecycle.ts";

/** A ledger row, as far as the timeline needs it. */
export interface TimelineRow {
  /** Null on the creation row. */
  readonly from_status: string | null;
  /** The status entered. */
  readonly to_status: string;
  /** Who moved it. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
  /** When. */
  readonly at: Date;
}

/** One phase: a status and the time spent in it. */
export interface Phase {
  /** The status. */
  readonly status: string;
  /** When it was entered (ISO 8601). */
  readonly entered_at: string;
  /** When it was left (ISO 8601); null while current or when terminal. */
  readonly left_at: string | null;
  /**
   * Milliseconds in the status: until it was left, or until `now` for the
   * current status; null for a terminal status (it is never left).
   */
  readonly duration_ms: number | null;
  /** Whether the directive is in this status now and it is not terminal. */
  readonly ongoing: boolean;
  /** Who moved the directive into it. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
}

/**
 * The phases of a directive, oldest first, from its ledger rows (in ledger
 * order). `now` sets the duration of a status still in progress.
 */
export function timelineOf(rows: readonly TimelineRow[], now: Date): Phase[] {
  return rows.map((row, i) => {
    const next = rows[i + 1];
    const terminal = isTerminal(row.to_status as DirectiveStatus);
    const end = next?.at ?? (terminal ? undefined : now);
    return {
      status: row.to_status,
      entered_at: row.at.toISOString(),
      left_at: next === undefined ? null : next.at.toISOString(),
      duration_ms: end === undefined ? null : Math.max(0, end.getTime() - row.at.getTime()),
      ongoing: next === undefined && !terminal,
      actor: row.actor,
      reason: row.reason,
    };
  });
}
