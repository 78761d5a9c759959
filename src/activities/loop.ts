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
import type { PolicyStep } from "../policy/mod.ts";
import type { DecisionActivities } from "./decisions.ts";
import type { DirectiveActivities } from "./directive.ts";

/** What {@linkcode createLoopActivities} composes. */
export interface LoopActivityDeps {
  /** The directive activities. */
  readonly directive: DirectiveActivities;
  /** The decision activities. */
  readonly decisions: DecisionActivities;
}

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
  const { directive, decisions } = deps;

  /** `approved → executing` (kept when already executing) and the attempt's run. */
  async function begin(request: { directiveId: string; attempt: number }) {
    const directiveStatus = await directive.startExecution(request.directiveId);
    const runId = await directive.createRun(request);
    return { directiveStatus, runId };
  }

  return {
    /**
     * The policy step; when the verdict auto-approves a proposed directive,
     * also its approval by the policy, the start of execution and the run of
     * attempt 1. A repeat finds each step done and returns the same.
     */
    async admitDirective(directiveId: string): Promise<Admission> {
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
      const begun = await begin({ directiveId, attempt: Math.max(1, step.lastAttempt) });
      return { ...step, ...begun, autoApproved: true };
    },

    /** Starts an attempt: execution started (if not yet) and the attempt's run created. */
    async beginAttempt(
      request: { directiveId: string; attempt: number },
    ): Promise<{ directiveStatus: string; runId: string }> {
      return await begin(request);
    },

    /**
     * Evaluation, then completion. Evaluation observes and never decides: an
     * evaluator that fails or times out leaves no score and the directive
     * completes all the same. Returns the directive's status.
     */
    async concludeDirective(
      request: { directiveId: string; runId: string; reason: string },
    ): Promise<string> {
      try {
        await directive.evaluateRun({ directiveId: request.directiveId, runId: request.runId });
      } catch {
        // as in the earlier loops: the outcome stands whatever the evaluator did
      }
      return await directive.finishDirective({
        directiveId: request.directiveId,
        to: "complete",
        actor: "keel",
        reason: request.reason,
      });
    },
  };
}

/** The single-workflow loop's steps, for `proxyLocalActivities`. */
export type LoopActivities = ReturnType<typeof createLoopActivities>;
