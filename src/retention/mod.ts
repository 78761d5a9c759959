/**
 * Retention: removes execution payloads and artifact bodies past their
 * retention through `keel_prune_payloads` (migration 0006), an owner-run
 * SQL function that keel_app may not call. The ledger, approvals, policy
 * evaluations and evaluations are never touched.
 *
 * @module
 */
import { lockArtifactBody, type ObjectPurger } from "../artifacts/mod.ts";
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

/** What purging stored bodies did. */
export interface PurgeReport {
  /** Objects removed from the store now (in a dry run: that would be, or were already). */
  readonly objectsPurged: number;
  /** Tombstoned objects this store does not serve (another store's URIs), left alone. */
  readonly skipped: number;
}

/**
 * Removes from the object store every body whose artifacts have all been
 * pruned: the URIs come from the tombstones, and a body still referenced by a
 * row that was not pruned (content addressing lets rows share one) is kept.
 * Each body is removed in its own transaction holding the body lock
 * (`lockArtifactBody`), which every writer of an artifact row also takes:
 * the references are checked again under it, the object is removed, and only
 * then is the lock released, so a worker recording the same bytes meanwhile
 * either is seen and keeps the body, or finds it gone and stores it again.
 * Safe to run again: an object already gone is not an error.
 */
export async function purgeStoredBodies(
  sql: Sql,
  purger: ObjectPurger,
  options: { dryRun?: boolean } = {},
): Promise<PurgeReport> {
  const rows = await sql<{ storage_uri: string }[]>`
    SELECT DISTINCT t.storage_uri FROM retention_tombstones t
     WHERE t.table_name = 'artifacts' AND t.storage_uri IS NOT NULL
       AND NOT EXISTS (
         SELECT 1 FROM artifacts a WHERE a.storage_uri = t.storage_uri AND a.pruned_at IS NULL)
     ORDER BY t.storage_uri`;
  let objectsPurged = 0;
  let skipped = 0;
  for (const { storage_uri: uri } of rows) {
    if (!uri.startsWith(purger.prefix)) {
      skipped++;
      continue;
    }
    const key = uri.slice(purger.prefix.length);
    if (options.dryRun) {
      objectsPurged++;
      continue;
    }
    const removed = await sql.begin(async (tx) => {
      await lockArtifactBody(tx, key);
      const [referenced] = await tx`
        SELECT 1 FROM artifacts WHERE storage_uri = ${uri} AND pruned_at IS NULL LIMIT 1`;
      return referenced ? false : await purger.purge(key);
    });
    if (removed) objectsPurged++;
  }
  return { objectsPurged, skipped };
}
