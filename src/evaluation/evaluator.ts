import type { DirectiveRow, ExecutionRunRow } from "../models/mod.ts";

/** An artifact the run produced, described; an evaluator that needs the body reads it by sha256. */
export interface EvaluatedArtifact {
  /** snake_case kind. */
  readonly kind: string;
  /** Content address. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly sizeBytes: number;
  /** MIME type. */
  readonly contentType: string;
}

/**
 * What an evaluator observes: the directive, its run (whose `result` is the
 * module's small JSON output) and the artifacts the module produced.
 */
export interface EvaluationInput {
  /** The directive. */
  readonly directive: DirectiveRow;
  /** The finished run. */
  readonly run: ExecutionRunRow;
  /** The run's artifacts. */
  readonly artifacts: readonly EvaluatedArtifact[];
}

/** A score and its parts. */
export interface EvaluationScore {
  /** In [0, 1]. */
  readonly score: number;
  /** Named dimensions, each in [0, 1]. */
  readonly dimensions: Readonly<Record<string, number>>;
  /** Anything else worth keeping. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** An evaluator observes a finished run and scores it. It never decides. */
export interface Evaluator {
  /** Name and version, e.g. `keel-default@1`, stored with each score. */
  readonly name: string;
  /**
   * True when scoring is pure computation in the worker's process (no I/O,
   * no waiting): the loop then reads, scores and completes in one database
   * transaction. Leave it unset for an evaluator that calls a service.
   */
  readonly inProcess?: boolean;
  /** Scores a run. */
  evaluate(input: EvaluationInput): Promise<EvaluationScore>;
}

function decimal(value: string | null): number {
  return value === null ? 0 : Number(value);
}

/**
 * The default evaluator: deterministic, from the run alone. `outcome` is 1
 * for SUCCESS and 0 otherwise; `budget_efficiency` is 1 minus the share of
 * the budget spent. The score is the outcome weighted 0.8 plus efficiency
 * weighted 0.2, so a failed run never scores above 0.2.
 */
export const defaultEvaluator: Evaluator = {
  name: "keel-default@1",
  inProcess: true,
  evaluate({ directive, run }) {
    const outcome = run.outcome === "SUCCESS" ? 1 : 0;
    const budget = decimal(directive.budget_amount);
    const spent = decimal(run.budget_consumed);
    const efficiency = budget > 0 ? Math.max(0, Math.min(1, 1 - spent / budget)) : 0;
    const score = Math.round((0.8 * outcome + 0.2 * efficiency) * 10_000) / 10_000;
    return Promise.resolve({
      score,
      dimensions: { outcome, budget_efficiency: efficiency },
      metadata: { run_status: run.status, run_outcome: run.outcome, attempt: run.attempt },
    });
  },
};
