/**
 * Memory: what cognition may read. A reader of named, bounded queries that
 * runs every call in a READ ONLY transaction, and semantic search over stored
 * embeddings (pgvector when the server has it, exact plain SQL otherwise).
 *
 * @module
 */
export * from "./errors.ts";
export { MEMORY_MAX_LIMIT, SEMANTIC_MAX_LIMIT } from "./_limits.ts";
export * from "./reader.ts";
export * from "./writer.ts";
export * from "./indexing.ts";
export * from "./search.ts";
