import type { Sql } from "../db/mod.ts";
import { EvaluationRow } from "../models/mod.ts";
import type { EvaluationScore } from "./evaluator.ts";

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
