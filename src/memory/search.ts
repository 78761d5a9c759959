/**
 * Searching remembered directives: by meaning when an embeddings provider is
 * configured (the query is embedded with the model the indexer used), else
 * by the objective's text.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import type { EmbeddingsProvider } from "../embeddings/mod.ts";
import { SEMANTIC_MAX_LIMIT } from "./_limits.ts";
import { createMemoryReader, type DirectiveMatch } from "./reader.ts";

/** The provider and model memories were embedded with. */
export interface MemoryEmbeddings {
  readonly embeddings: EmbeddingsProvider;
  readonly model: string;
}

/** What a search found. */
export type MemorySearchResult =
  | { readonly mode: "text"; readonly hits: DirectiveMatch[] }
  | {
    readonly mode: "semantic";
    readonly model: string;
    readonly hits: { directiveId: string; content: string; score: number }[];
  };

/** Directives like `query`: the closest memories, or the objectives that contain it. */
export async function searchDirectiveMemory(
  sql: Sql,
  query: string,
  limit: number,
  memory?: MemoryEmbeddings,
): Promise<MemorySearchResult> {
  const reader = createMemoryReader(sql);
  if (memory === undefined) {
    return { mode: "text", hits: await reader.directivesMatching(query, { limit }) };
  }
  const answer = await memory.embeddings.embed({ model: memory.model, inputs: [query] });
  const hits = await reader.semanticSearch({
    vector: answer.vectors[0] ?? [],
    model: memory.model,
    sourceType: "directive",
    limit: Math.min(limit, SEMANTIC_MAX_LIMIT),
  });
  return {
    mode: "semantic",
    model: memory.model,
    hits: hits.map((h) => ({ directiveId: h.sourceId, content: h.content, score: h.score })),
  };
}
