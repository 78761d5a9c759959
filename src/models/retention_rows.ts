/**
 * Row model of `retention_tombstones` (migration 0006): one row per payload
 * that retention removed.
 *
 * @module
 */
import { z } from "zod";
import { col, pg } from "./_pg.ts";

/** A row of `retention_tombstones`. */
export const RetentionTombstoneRow = z.strictObject({
  id: col.bigintId(),
  table_name: pg("text", z.enum(["artifacts", "execution_runs"])),
  row_id: col.uuid(),
  directive_id: col.uuid(),
  bytes_removed: col.bigintCount(),
  storage_uri: col.text(2000).nullable(),
  cutoff: col.timestamp(),
  actor: col.text(200),
  pruned_at: col.timestamp(),
});
/** A row of `retention_tombstones`. */
export type RetentionTombstoneRow = z.infer<typeof RetentionTombstoneRow>;

/** What the prune function writes; only `keel_prune_payloads` inserts these. */
export const NewRetentionTombstoneRow = RetentionTombstoneRow.omit({ id: true, pruned_at: true });
/** What the prune function writes. */
export type NewRetentionTombstoneRow = z.infer<typeof NewRetentionTombstoneRow>;
