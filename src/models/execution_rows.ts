import { z } from "zod";
import { col, pg } from "./_pg.ts";
import { RUN_STATUSES } from "./statuses.ts";

/** A row of `execution_runs`: one attempt at executing a directive. */
export const ExecutionRunRow = z.strictObject({
  id: col.uuid(),
  directive_id: col.uuid(),
  attempt: col.integer().min(1),
  idempotency_key: col.text(300),
  module: col.slug(),
  status: pg("text", z.enum(RUN_STATUSES)),
  outcome: pg("text", z.enum(["SUCCESS", "FAILURE", "ERROR"])).nullable(),
  result: col.json().nullable(),
  message: col.text(4000, 0).nullable(),
  budget_consumed: col.decimal().nullable(),
  duration_ms: col.integer().min(0).nullable(),
  started_at: col.timestamp().nullable(),
  finished_at: col.timestamp().nullable(),
  created_at: col.timestamp(),
});
/** A row of `execution_runs`. */
export type ExecutionRunRow = z.infer<typeof ExecutionRunRow>;

/** What creating a run takes; it starts `pending`. */
export const NewExecutionRunRow = ExecutionRunRow.pick({
  directive_id: true,
  attempt: true,
  idempotency_key: true,
  module: true,
});
/** What creating a run takes. */
export type NewExecutionRunRow = z.infer<typeof NewExecutionRunRow>;

/** A row of `artifacts`: immutable, content-addressed, inline below 64 KiB. */
export const ArtifactRow = z.strictObject({
  id: col.uuid(),
  directive_id: col.uuid(),
  run_id: col.uuid().nullable(),
  kind: col.slug(),
  sha256: col.sha256(),
  size_bytes: col.bigintCount(),
  content_type: col.text(200),
  inline_content: col.bytes().nullable(),
  storage_uri: col.text(2000).nullable(),
  created_at: col.timestamp(),
  /** Set when retention removed the body (migration 0006); the metadata stays. */
  pruned_at: col.timestamp().nullable(),
});
/** A row of `artifacts`. */
export type ArtifactRow = z.infer<typeof ArtifactRow>;

/** What recording an artifact takes. */
export const NewArtifactRow = ArtifactRow.omit({ id: true, created_at: true, pruned_at: true });
/** What recording an artifact takes. */
export type NewArtifactRow = z.infer<typeof NewArtifactRow>;
