/**
 * Which completed directives still need a memory, in the order they
 * completed, and what each memory says. The indexer (an activity of the
 * worker's `memoryIndexerWorkflow`) embeds them; searches then find them.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** A completed directive not yet remembered under a model. */
export interface IndexCandidate {
  /** The ledger row that completed it (bigint as text): the indexer's position. */
  readonly seq: string;
  readonly id: string;
  readonly type: string;
  readonly objective: string;
  /** Its last run's message. */
  readonly message: string | null;
}

/** The longest memory text, in characters. */
export const MEMORY_CONTENT_MAX = 8000;

/** Directives that completed after ledger row `after` and have no memory under `model`. */
export async function completedSince(
  sql: Sql,
  after: string,
  model: string,
  limit: number,
): Promise<IndexCandidate[]> {
  return [
    ...await sql<IndexCandidate[]>`
      SELECT t.id::text AS seq, d.id, d.type, d.objective,
             (SELECT r.message FROM execution_runs r WHERE r.directive_id = d.id
               ORDER BY r.attempt DESC LIMIT 1) AS message
        FROM directive_transitions t
        JOIN directives d ON d.id = t.directive_id
       WHERE t.to_status = 'complete' AND t.id > ${after}::bigint
         AND NOT EXISTS (SELECT 1 FROM memory_embeddings m
                          WHERE m.source_type = 'directive' AND m.source_id = d.id::text
                            AND m.model = ${model})
       ORDER BY t.id LIMIT ${limit}`,
  ];
}

/** What a directive's memory says: its objective and how it ended. */
export function memoryContent(candidate: IndexCandidate): string {
  const text = `${candidate.objective}\n\n${candidate.type} directive, completed: ${
    candidate.message ?? "no run message"
  }`;
  return text.slice(0, MEMORY_CONTENT_MAX);
}
