import type { Sql } from "../db/mod.ts";
import { EvaluationRow } from "../models/mod.ts";
import type { EvaluatedArtifact, EvaluationScore } from "./evaluator.ts";

/**
 * Stores a score linked to its directive and (optionally) run. A second score
 * from the same evaluator for the same run is not stored; the first is returned.
 */
export async function recordEvaluation(
  sql: Sql,
  score: EvaluationScore,
  link: { directiveId: string; runId: string | null; evaluator: string },
): Promise<EvaluationRow> {
  const [row] = await sql`
    INSERT INTO evaluations (directive_id, run_id, evaluator, score, dimensions, metadata)
    VALUES (${link.directiveId}, ${link.runId}, ${link.evaluator}, ${score.score},
      ${sql.json(score.dimensions as never)}, ${sql.json(score.metadata as never)})
    ON CONFLICT (run_id, evaluator) WHERE run_id IS NOT NULL DO NOTHING
    RETURNING *`;
  if (row) return EvaluationRow.parse(row);
  const [existing] = await sql`
    SELECT * FROM evaluations WHERE run_id = ${link.runId} AND evaluator = ${link.evaluator}`;
  return EvaluationRow.parse(existing);
}

/** What an evaluator is shown of a run's artifacts: kind, hash, size and type, never the body. */
export async function evaluatedArtifacts(sql: Sql, runId: string): Promise<EvaluatedArtifact[]> {
  return [
    ...await sql<EvaluatedArtifact[]>`
      SELECT kind, sha256, size_bytes::float8 AS "sizeBytes", content_type AS "contentType"
        FROM artifacts WHERE run_id = ${runId} ORDER BY created_at, kind`,
  ];
}
