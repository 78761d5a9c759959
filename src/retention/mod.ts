/**
 * Retention: removes execution payloads and artifact bodies past their
 * retention through `keel_prune_payloads` (migration 0006), an owner-run
 * SQL function that keel_app may not call. The ledger, approvals, policy
 * evaluations and evaluations are never touched.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** Thrown when a retention duration cannot be parsed. */
export class RetentionDurationError extends RangeError {
  /** Builds the error for the bad `value`. */
  constructor(value: string, options?: ErrorOptions) {
    super(
      `Cannot parse retention duration "${value}": expected a positive number with a unit, e.g. 30d, 12h, 90m or 3600s`,
      options,
    );
    this.name = "RetentionDurationError";
  }
}

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses `30d`, `12h`, `90m`, `3600s` or `2w` into milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d{1,9})([smhdw])$/.exec(value.trim());
  const amount = match ? Number(match[1]) : 0;
  const unit = match ? UNIT_MS[match[2] ?? ""] : undefined;
  if (!match || unit === undefined || amount <= 0) throw new RetentionDurationError(value);
  return amount * unit;
}

/** What a prune removed (or, in a dry run, would remove). */
export interface PruneReport {
  /** Rows older than this were eligible. */
  readonly cutoff: Date;
  /** Artifacts whose body was removed. */
  readonly artifactsPruned: number;
  /** Execution runs whose result payload was removed. */
  readonly runsPruned: number;
  /** Payload bytes removed (artifact sizes plus result JSON text). */
  readonly bytesRemoved: number;
  /** Whether nothing was changed. */
  readonly dryRun: boolean;
}

/** Options of {@linkcode prunePayloads}. */
export interface PruneOptions {
  /** Who runs the prune; recorded on each tombstone. */
  readonly actor: string;
  /** Count what would go without changing anything. */
  readonly dryRun?: boolean;
}

/**
 * Prunes payloads of terminal directives older than `cutoff`, in one
 * transaction. Needs a role with EXECUTE on `keel_prune_payloads` (the owner
 * or a member of `keel_prune`).
 */
export async function prunePayloads(
  sql: Sql,
  cutoff: Date,
  options: PruneOptions,
): Promise<PruneReport> {
  const dryRun = options.dryRun ?? false;
  const [row] = await sql<
    { artifacts_pruned: string; runs_pruned: string; bytes_removed: string }[]
  >`SELECT * FROM keel_prune_payloads(${cutoff}, ${options.actor}, ${dryRun})`;
  return {
    cutoff,
    artifactsPruned: Number(row?.artifacts_pruned ?? 0),
    runsPruned: Number(row?.runs_pruned ?? 0),
    bytesRemoved: Number(row?.bytes_removed ?? 0),
    dryRun,
  };
}
