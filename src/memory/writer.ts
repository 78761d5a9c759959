import { z } from "zod";
import type { Sql } from "../db/mod.ts";
import { parseQuery } from "./_limits.ts";

/** What storing one embedding takes. */
export interface NewMemory {
  /** snake_case kind of what was embedded, e.g. `directive` or `artifact`. */
  readonly sourceType: string;
  /** Its id. */
  readonly sourceId: string;
  /** The embedding model, e.g. `text-embedding-3-small`. */
  readonly model: string;
  /** The embedded text. */
  readonly content: string;
  /** The vector. */
  readonly embedding: readonly number[];
}

const newMemory = z.strictObject({
  sourceType: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be a snake_case kind"),
  sourceId: z.string().min(1).max(200),
  model: z.string().min(1).max(200),
  content: z.string().max(100_000),
  embedding: z.array(z.number().refine(Number.isFinite, "must be finite")).min(1).max(4096),
});

/**
 * Stores an embedding, once per (source type, source id, model): storing the
 * same source again keeps the first and returns `false`. Kept apart from the
 * reader, which can never write.
 */
export async function rememberEmbedding(sql: Sql, memory: NewMemory): Promise<boolean> {
  const m = parseQuery(newMemory, "remember embedding", memory);
  const rows = await sql`
    INSERT INTO memory_embeddings (source_type, source_id, model, dimensions, content, embedding)
    VALUES (${m.sourceType}, ${m.sourceId}, ${m.model}, ${m.embedding.length}, ${m.content},
      ${m.embedding as number[]}::float8[])
    ON CONFLICT (source_type, source_id, model) DO NOTHING
    RETURNING id`;
  return rows.length === 1;
}
