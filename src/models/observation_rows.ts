import { z } from "zod";
import { col } from "./_pg.ts";

/** A row of `evaluations`: a score that observes a directive and never decides. */
export const EvaluationRow = z.strictObject({
  id: col.uuid(),
  directive_id: col.uuid(),
  run_id: col.uuid().nullable(),
  evaluator: col.text(200),
  score: col.float().min(0).max(1),
  dimensions: col.jsonObject(),
  metadata: col.jsonObject(),
  created_at: col.timestamp(),
});
/** A row of `evaluations`. */
export type EvaluationRow = z.infer<typeof EvaluationRow>;

/** What recording a score takes. */
export const NewEvaluationRow = EvaluationRow.omit({ id: true, created_at: true });
/** What recording a score takes. */
export type NewEvaluationRow = z.infer<typeof NewEvaluationRow>;

/** A row of `memory_embeddings`: one embedded text with its source. */
export const MemoryEmbeddingRow = z.strictObject({
  id: col.uuid(),
  source_type: col.slug(),
  source_id: col.text(200),
  model: col.text(200),
  dimensions: col.integer().min(1).max(4096),
  content: col.text(100_000, 0),
  embedding: col.floatArray(),
  created_at: col.timestamp(),
});
/** A row of `memory_embeddings`. */
export type MemoryEmbeddingRow = z.infer<typeof MemoryEmbeddingRow>;

/** What storing an embedding takes. */
export const NewMemoryEmbeddingRow = MemoryEmbeddingRow.omit({ id: true, created_at: true });
/** What storing an embedding takes. */
export type NewMemoryEmbeddingRow = z.infer<typeof NewMemoryEmbeddingRow>;
