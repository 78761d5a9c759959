import { z } from "zod";
import { col, pg } from "./_pg.ts";

/**
 * A row of `working_memory`: one version of one key of a directive's
 * scratchpad, written by a running run of the directive. `value` is NULL
 * when this version deleted the key.
 */
export const WorkingMemoryRow = z.strictObject({
  id: col.bigintId(),
  directive_id: col.uuid(),
  run_id: col.uuid(),
  key: pg("text", z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/)),
  version: pg("integer", z.number().int().min(1)),
  value: col.json().nullable(),
  size_bytes: pg("integer", z.number().int().min(0)),
  written_at: col.timestamp(),
});
/** A row of `working_memory`. */
export type WorkingMemoryRow = z.infer<typeof WorkingMemoryRow>;

/** What appending a version takes (`size_bytes` is computed by the database). */
export const NewWorkingMemoryRow = WorkingMemoryRow.omit({
  id: true,
  size_bytes: true,
  written_at: true,
});
/** What appending a version takes. */
export type NewWorkingMemoryRow = z.infer<typeof NewWorkingMemoryRow>;
