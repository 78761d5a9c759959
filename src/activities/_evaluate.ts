/**
 * Scoring a finished run, in three parts so that a step may put the reads
 * and the write in transactions of its own choosing: read what the evaluator
 * is given, score it (outside any transaction: an evaluator may be a remote
 * service), record the score. Evaluation observes and never decides: an
 * evaluator that fails or takes too long leaves no score.
 *
 * @module
 */
import { ApplicationFailure } from "@temporalio/activity";
import { trace } from "@opentelemetry/api";
import { inOneTransaction, type Sql } from "../db/mod.ts";
import { getDirective } from "../directives/mod.ts";
import { getRun } from "../execution/mod.ts";
import {
  evaluatedArtifacts,
  type EvaluationInput,
  type EvaluationScore,
  type Evaluator,
  recordEvaluation,
} from "../evaluation/mod.ts";
import type { Logger } from "../telemetry/log.ts";

/** What scoring needs. */
export interface ScoringDeps {
  /** The evaluator of finished runs. */
  readonly evaluator: Evaluator;
  /** Milliseconds an evaluator may take before its score is abandoned (default 10 s). */
  readonly evaluationTimeoutMs?: number;
  /** The structured logger. */
  readonly log: Logger;
}

/** Thrown when an evaluator takes longer than it may. */
export class EvaluationTimeoutError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EvaluationTimeoutError";
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new EvaluationTimeoutError(`${what} took longer than ${ms} ms; abandoned`)),
      ms,
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Reads, in one transaction, what the evaluator of `runId` is given. */
export async function evaluationInput(
  sql: Sql,
  request: { directiveId: string; runId: string },
): Promise<EvaluationInput> {
  return await inOneTransaction(sql, async (tx) => {
    const directive = await getDirective(tx, request.directiveId);
    const run = await getRun(tx, request.runId);
    if (!run) throw ApplicationFailure.nonRetryable(`No run "${request.runId}"`, "NotFound");
    return { directive, run, artifacts: [...await evaluatedArtifacts(tx, run.id)] };
  });
}

/** Scores a run; `null` when the evaluator failed or took too long (logged, on the span). */
export async function scoreRun(
  deps: ScoringDeps,
  input: EvaluationInput,
): Promise<EvaluationScore | null> {
  const { evaluator } = deps;
  try {
    return await withTimeout(
      evaluator.evaluate(input),
      deps.evaluationTimeoutMs ?? 10_000,
      `evaluator "${evaluator.name}"`,
    );
  } catch (error) {
    deps.log.warn("evaluation abandoned", {
      directive_id: input.directive.id,
      run_id: input.run.id,
      evaluator: evaluator.name,
      error,
    });
    trace.getActiveSpan()?.addEvent("keel.evaluation.abandoned", {
      "keel.evaluator": evaluator.name,
      "error.type": (error as Error).name,
    });
    return null;
  }
}

/** Stores a score (once per run and evaluator) and returns it as stored. */
export async function recordScore(
  sql: Sql,
  evaluator: Evaluator,
  input: EvaluationInput,
  score: EvaluationScore,
): Promise<number> {
  const row = await recordEvaluation(sql, score, {
    directiveId: input.directive.id,
    runId: input.run.id,
    evaluator: evaluator.name,
  });
  trace.getActiveSpan()?.addEvent("keel.evaluation", {
    "keel.evaluator": evaluator.name,
    "keel.evaluation.score": row.score,
  });
  trace.getActiveSpan()?.setAttributes({ "keel.evaluation.score": row.score });
  return row.score;
}
