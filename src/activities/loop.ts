/**
 * The steps of the single-workflow loop (`directiveWorkflowV3`), run as
 * local activities: each combines database steps that the earlier loops ran
 * as separate activities, so a directive costs one regular activity (the
 * module's run) and a handful of workflow tasks. Each is composed from the
 * same activity functions as before, so the rules are the same: it is
 * idempotent and safe to repeat, and a business refusal is non-retryable.
 *
 * @module
 */
import { inOneTransaction, type Sql } from "../db/mod.ts";
import type { PolicyStep } from "../policy/mod.ts";
import { createDecisionActivities, type DecisionActivityDeps } from "./decisions.ts";
import {
  createDirectiveActivities,
  type DirectiveActivities,
  type DirectiveActivityDeps,
} from "./directive.ts";
import type { EvaluationInput, EvaluationScore as Score } from "../evaluation/mod.ts";
import { evaluationInput, recordScore, scoreRun } from "./_evaluate.ts";

/** What {@linkcode createLoopActivities} needs: what the steps it composes need. */
export type LoopActivityDeps = DirectiveActivityDeps & DecisionActivityDeps;

/** Where the policy step left a directive, and what was done with an auto-approval. */
export interface Admission extends PolicyStep {
  /** The directive's status after this step. */
  readonly directiveStatus: string;
  /** Whether the policy's auto-approval was recorded by this step (or before it). */
  readonly autoApproved: boolean;
  /** The run of attempt 1, when the auto-approval started execution; else null. */
  readonly runId: string | null;
}

/** Builds the single-workflow loop's steps. */
export function createLoopActivities(deps: LoopActivityDeps) {
  /** The earlier steps over `sql`: the joined client of one transaction. */
  const over = (sql: Sql) => ({
    directive: createDirectiveActivities({ ...deps, sql }),
    decisions: createDecisionActivities({ ...deps, sql }),
  });

  /** `approved → executing` (kept when already executing) and the attempt's run. */
  async function begin(
    directive: DirectiveActivities,
    request: { directiveId: string; attempt: number },
  ) {
    const directiveStatus = await directive.startExecution(request.directiveId);
    const runId = await directive.createRun(request);
    return { directiveStatus, runId };
  }

  return {
    /**
     * The policy step; when the verdict auto-approves a proposed directive,
     * also its approval by the policy, the start of execution and the run of
     * attempt 1, all in one transaction. A repeat finds each step done and
     * returns the same.
     */
    async admitDirective(directiveId: string): Promise<Admission> {
      return await inOneTransaction(deps.sql, (sql) => admit(sql, directiveId));
    },

    /** Starts an attempt (one transaction): execution started, if not yet, and its run. */
    async beginAttempt(
      request: { directiveId: string; attempt: number },
    ): Promise<{ directiveStatus: string; runId: string }> {
      return await inOneTransaction(deps.sql, (sql) => begin(over(sql).directive, request));
    },

    /**
     * Evaluation, then completion. The evaluator's input is read, the run
     * scored and the score recorded with the completion: in one transaction
     * when the evaluator scores in this process, else with the scoring
     * outside any transaction (an evaluator may be a remote service).
     * Evaluation observes and never decides: an evaluator that fails or
     * times out leaves no score, and the directive completes all the same.
     * Returns the directive's status.
     */
    async concludeDirective(
      request: { directiveId: string; runId: string; reason: string },
    ): Promise<string> {
      const read = (sql: Sql) => evaluationInput(sql, request).catch(() => null);
      const score = (input: EvaluationInput | null) =>
        input === null ? Promise.resolve(null) : scoreRun(deps, input);
      /** Records the score, if any, and completes the directive. */
      const finish = async (sql: Sql, input: EvaluationInput | null, scored: Score | null) => {
        if (input !== null && scored !== null) {
          await recordScore(sql, deps.evaluator, input, scored);
        }
        return await over(sql).directive.finishDirective({
          directiveId: request.directiveId,
          to: "complete",
          actor: "keel",
          reason: request.reason,
        });
      };
      if (deps.evaluator.inProcess) {
        return await inOneTransaction(deps.sql, async (sql) => {
          const input = await read(sql);
          return await finish(sql, input, await score(input));
        });
      }
      const input = await read(deps.sql);
      const scored = await score(input);
      return await inOneTransaction(deps.sql, (sql) => finish(sql, input, scored));
    },
  };

  async function admit(sql: Sql, directiveId: string): Promise<Admission> {
    const { directive, decisions } = over(sql);
    const step = await directive.evaluateDirectivePolicy(directiveId);
    if (step.status !== "proposed" || !step.autoApprove) {
      return { ...step, directiveStatus: step.status, autoApproved: false, runId: null };
    }
    const reply = await decisions.recordDecision({
      directiveId,
      decision: "approved",
      actor: step.policyActor,
      reason: "auto-approved by policy",
    });
    if (reply.directiveStatus !== "approved") {
      return { ...step, directiveStatus: reply.directiveStatus, autoApproved: true, runId: null };
    }
    const begun = await begin(directive, {
      directiveId,
      attempt: Math.max(1, step.lastAttempt),
    });
    return { ...step, ...begun, autoApproved: true };
  }
}

/** The single-workflow loop's steps, for `proxyLocalActivities`. */
export type LoopActivities = ReturnType<typeof createLoopActivities>;
