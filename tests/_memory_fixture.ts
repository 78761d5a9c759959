/**
 * One data set for both semantic-search paths: 24 embeddings whose cosine
 * similarity to the query falls in clear steps, so pgvector (float4) and the
 * exact search (float8) must agree on the order.
 */
import type { Sql } from "../src/db/mod.ts";
import { rememberEmbedding } from "../src/memory/mod.ts";

/** 384 dimensions: a size the pgvector path indexes with HNSW. */
export const DIMENSIONS = 384;
/** The model name the fixture stores under. */
export const MODEL = "fixture-embedding-384";

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

function normalize(values: number[]): number[] {
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0));
  return values.map((v) => v / norm);
}

/** The query vector. */
export function queryVector(): number[] {
  const next = random(42);
  return normalize(Array.from({ length: DIMENSIONS }, next));
}

/** Item `i` has a cosine similarity to the query of about 1 - i/24. */
export function itemVector(i: number): number[] {
  const q = queryVector();
  const next = random(1000 + i);
  const noise = normalize(Array.from({ length: DIMENSIONS }, next));
  const weight = 1 - i / 24;
  return normalize(q.map((v, d) => weight * v + (1 - weight) * noise[d]!));
}

/** Stores the 24 items (and 3 under another model, which searches must ignore). */
export async function storeFixture(sql: Sql): Promise<void> {
  for (let i = 0; i < 24; i++) {
    await rememberEmbedding(sql, {
      sourceType: i % 2 === 0 ? "directive" : "artifact",
      sourceId: `item-${String(i).padStart(2, "0")}`,
      model: MODEL,
      content: `memory item ${i}`,
      embedding: itemVector(i),
    });
  }
  for (let i = 0; i < 3; i++) {
    await rememberEmbedding(sql, {
      sourceType: "directive",
      sourceId: `other-${i}`,
      model: "another-model",
      content: `other ${i}`,
      embedding: queryVector(),
    });
  }
}
