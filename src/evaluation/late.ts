import { trace } from "@opentelemetry/api";
import { z } from "zod";
import type { Sql } from "../db/mod.ts";
import type { EvaluationRow } from "../models/mod.ts";
import { recordEvaluation } from "./persist.ts";

/** Thrown when a late score is malformed or names no directive; the message names the field. */
export class LateScoreError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LateScoreError";
  }
}

const unit = z.number().min(0).max(1);

/** A score that arrives after the loop, from a person or a slower system. */
export const LateScore = z.strictObject({
  directiveId: z.uuid(),
  score: unit,
  evaluator: z.string().trim().min(1).max(200),
  dimensions: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/), unit).default({}),
  note: z.string().max(2000).optional(),
});

/** A late score's input. */
export type LateScore = z.input<typeof LateScore>;

/**
 * Stores a late score linked to its directive (and to no run), and exports it
 * as an event on the current span. It changes nothing about the directive.
 */
export async function recordLateScore(sql: Sql, input: LateScore): Promise<EvaluationRow> {
  const parsed = LateScore.safeParse(input);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".") || "(input)"}: ${i.message}`);
    throw new LateScoreError(`Cannot record score: ${fields.join("; ")}`, { cause: parsed.error });
  }
  const score = parsed.data;
  const [found] = await sql`SELECT id FROM directives WHERE id = ${score.directiveId}`;
  if (!found) throw new LateScoreError(`Cannot record score: no directive "${score.directiveId}"`);
  const row = await recordEvaluation(sql, {
    score: score.score,
    dimensions: score.dimensions,
    metadata: { late: true, ...(score.note === undefined ? {} : { note: score.note }) },
  }, { directiveId: score.directiveId, runId: null, evaluator: score.evaluator });
  trace.getActiveSpan()?.addEvent("keel.evaluation", {
    "keel.directive.id": score.directiveId,
    "keel.evaluator": score.evaluator,
    "keel.evaluation.score": row.score,
    "keel.evaluation.late": true,
  });
  return row;
}
