import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
} from "@temporalio/workflow";
import type { DirectiveActivities } from "../../activities/directive.ts";
import { local, steps } from "./_steps.ts";
import { executionWorkflow, executionWorkflowV2, runAttempt } from "./execution.ts";
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  type Attribution,
  type DecisionReply,
  type DirectiveLoopInput,
  type ExecutionResult,
  executionWorkflowId,
  type LoopPhase,
  type LoopResult,
  PHASE_MEMO_PATCH,
  rejectSignal,
  rejectUpdate,
  SANDBOX_EXECUTION_PATCH,
  SIGNED_DECISIONS_PATCH,
  statusQuery,
} from "./api.ts";

// Evaluation observes and never decides: bounded, and its failure is ignored.
const observe = proxyActivities<DirectiveActivities>({
  startToCloseTimeout: "30 seconds",
  retry: { maximumAttempts: 3, initialInterval: "500 milliseconds" },
});

function checkAttribution(message: Attribution | undefined): void {
  if (typeof message?.actor !== "string" || message.actor.trim() === "") {
    throw new Error("actor is required");
  }
  if (typeof message.reason !== "string" || message.reason.trim() === "") {
    throw new Error("reason is required");
  }
}

/**
 * The worker's refusal of a decision, as the caller's error: the activity's
 * own message (what was wrong), not "Activity task failed".
 */
async function refusedAs<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) {
      throw ApplicationFailure.create({
        message: error.cause.message,
        type: error.cause.type ?? "Refused",
        nonRetryable: true,
        details: error.cause.details ?? [],
      });
    }
    throw error;
  }
}

/**
 * Refuses, before anything is recorded, a decision that carries no signature
 * at all. Whether a signature is valid is the worker's to check (the key is
 * not in the workflow): `recordDecision` and `verifyAbort` do it, and the
 * reason's limits, before any effect.
 */
function checkSigned(message: Attribution): void {
  if (
    typeof message.issuedAt !== "string" || typeof message.nonce !== "string" ||
    typeof message.signature !== "string"
  ) {
    throw new Error("the decision is not signed: send it through Keel's API or CLI");
  }
}

/**
 * The attempt a (possibly restarted) loop runs first: the first one, or the
 * last one recorded. An ended attempt is not run again (its stored ending is
 * returned, with whether another may follow); an unfinished one is run if it
 * never started and recorded `lost` if it did.
 */
function resumeAttempt(step: { lastAttempt: number }): number {
  return step.lastAttempt === 0 ? 1 : step.lastAttempt;
}

/** How one version of the loop differs from another. */
export interface LoopVersion {
  /**
   * Whether to publish the phase as the `keel_phase` memo, which
   * `temporal workflow describe` shows even when no worker is running.
   * Asked at every phase change.
   */
  readonly phaseMemo: () => boolean;
  /**
   * Whether attempts run as {@linkcode executionWorkflowV2} (the module once,
   * in the sandbox). Guarded by `patched()` in every version: loops recorded
   * before it keep starting the earlier child type on replay.
   */
  readonly sandboxedExecution: () => boolean;
  /**
   * Whether an abort is verified by the worker before the loop acts on it,
   * and a decision signal sent before the gate waits for it. Guarded by
   * `patched()`: loops recorded before it replay without the extra activity.
   */
  readonly signedDecisions: () => boolean;
  /**
   * Whether the loop is one workflow: database steps as local activities
   * (the policy step with its auto-approval in one, evaluation with
   * completion in one) and each attempt as an activity of the loop rather
   * than a child workflow. Fixed per workflow type ({@linkcode directiveWorkflowV3}).
   */
  readonly oneWorkflow: boolean;
}

/**
 * One directive's control loop: policy, approval gate, execution attempts,
 * evaluation, completion. Every state change is written to Postgres by an
 * activity; the workflow only coordinates. Its id is derived from the
 * directive id, so a duplicate start cannot make a second loop.
 *
 * The phase memo is guarded by `patched()`: a loop recorded before it (for
 * example one waiting at the approval gate during an upgrade) replays its
 * recorded part without it and takes it from the first step it runs on the
 * new code. New loops may start as {@linkcode directiveWorkflowV2}.
 */
export async function directiveWorkflow(input: DirectiveLoopInput): Promise<LoopResult> {
  return await runToEnd(input, {
    phaseMemo: () => patched(PHASE_MEMO_PATCH),
    sandboxedExecution: () => patched(SANDBOX_EXECUTION_PATCH),
    signedDecisions: () => patched(SIGNED_DECISIONS_PATCH),
    oneWorkflow: false,
  });
}

/**
 * The loop as released under a new workflow type: it always publishes the
 * phase memo, so it carries no patch branch. Loops already open as
 * `directiveWorkflow` keep running on that type until they end.
 */
export async function directiveWorkflowV2(input: DirectiveLoopInput): Promise<LoopResult> {
  return await runToEnd(input, {
    phaseMemo: () => true,
    sandboxedExecution: () => patched(SANDBOX_EXECUTION_PATCH),
    signedDecisions: () => patched(SIGNED_DECISIONS_PATCH),
    oneWorkflow: false,
  });
}

/**
 * The loop as one workflow, the type every new loop starts as: its database
 * steps are local activities and each attempt is an activity of its own, so
 * an auto-approved directive takes one regular activity (the module's run).
 * It carries no patch branch. Loops open as `directiveWorkflow` or
 * `directiveWorkflowV2` keep running on those types until they end.
 */
export async function directiveWorkflowV3(input: DirectiveLoopInput): Promise<LoopResult> {
  return await runToEnd(input, {
    phaseMemo: () => true,
    sandboxedExecution: () => true,
    signedDecisions: () => true,
    oneWorkflow: true,
  });
}

/**
 * Runs the loop, then lets every decision still being checked (an abort
 * verified by the worker while the loop ended) answer before the workflow
 * completes, so no caller gets "the workflow completed before the Update".
 */
async function runToEnd(input: DirectiveLoopInput, version: LoopVersion): Promise<LoopResult> {
  const result = await runDirectiveLoop(input, version);
  if (version.signedDecisions()) await condition(allHandlersFinished);
  return result;
}

/**
 * The body every version of the loop shares. Not a workflow itself:
 * `src/workflows/mod.ts` exports only the versions above.
 */
export async function runDirectiveLoop(
  input: DirectiveLoopInput,
  version: LoopVersion,
): Promise<LoopResult> {
  const { directiveId } = input;
  const db = version.oneWorkflow ? local : steps;
  let phase: LoopPhase = "policy";
  let directiveStatus: string | null = null;
  let attempt = 0;
  let runId: string | null = null;
  let abortRequest: Attribution | undefined;
  let decided: "approved" | "rejected" | undefined;
  let deciding = false;
  let approvals: { count: number; required: number } | undefined;
  let executionScope: CancellationScope | undefined;
  let result: LoopResult | undefined;

  function enter(next: LoopPhase): void {
    phase = next;
    if (version.phaseMemo()) upsertMemo({ keel_phase: next });
  }

  setHandler(statusQuery, () => ({
    directiveId,
    phase,
    directiveStatus,
    attempt,
    runId,
    abortRequested: abortRequest !== undefined,
    ...(approvals === undefined ? {} : { approvals }),
  }));

  /**
   * A decision stored outside this loop (straight in Postgres) is learnt from
   * the refusal of a conflicting one, so the gate does not wait for it.
   */
  function learnStored(error: unknown): void {
    if (!(error instanceof ApplicationFailure) || error.type !== "DecisionConflictError") return;
    const [stored] = (error.details ?? []) as {
      decision?: "approved" | "rejected";
      directiveStatus?: string;
    }[];
    if (stored?.decision !== undefined && stored.directiveStatus !== "proposed") {
      decided = stored.decision;
      if (stored.directiveStatus !== undefined) directiveStatus = stored.directiveStatus;
    }
  }

  async function decide(kind: "approved" | "rejected", by: Attribution): Promise<DecisionReply> {
    // One decision at a time: a second waits for the first instead of being
    // refused, so every message is heard.
    // The check and the claim run without an await between them.
    while (deciding) await condition(() => !deciding);
    if (decided !== undefined) {
      throw ApplicationFailure.nonRetryable(
        `directive ${directiveId} already has a decision (${decided})`,
        "DecisionConflictError",
      );
    }
    deciding = true;
    try {
      const reply = await refusedAs(() => db.recordDecision({ directiveId, decision: kind, ...by }))
        .catch((error) => {
          learnStored(error);
          throw error;
        });
      // An approval short of the quorum leaves the directive proposed.
      if (reply.directiveStatus !== "proposed") decided = reply.decision;
      if (reply.approvals !== undefined && reply.required !== undefined) {
        approvals = { count: reply.approvals, required: reply.required };
      }
      directiveStatus = reply.directiveStatus;
      return reply;
    } finally {
      deciding = false;
    }
  }

  function validateDecision(message: Attribution): void {
    checkAttribution(message);
    checkSigned(message);
    if (phase !== "awaiting_approval") {
      throw new Error(`directive ${directiveId} is not awaiting approval (phase: ${phase})`);
    }
    if (decided !== undefined) {
      throw new Error(`directive ${directiveId} already has a decision`);
    }
  }

  /** Checks an abort's signature with the worker before the loop acts on it. */
  async function verifiedAbort(by: Attribution): Promise<void> {
    if (version.signedDecisions()) {
      await refusedAs(() => db.verifyAbort({ directiveId, ...by }));
    }
    requestAbort(by);
  }

  /** A signal that arrives before the gate waits for it instead of being dropped. */
  async function untilPolicyDecided(): Promise<void> {
    if (version.signedDecisions()) await condition(() => phase !== "policy");
  }

  function requestAbort(by: Attribution): void {
    if (abortRequest !== undefined || phase === "done") return;
    abortRequest = by;
    executionScope?.cancel();
  }

  setHandler(approveUpdate, (by) => decide("approved", by), { validator: validateDecision });
  setHandler(rejectUpdate, (by) => decide("rejected", by), { validator: validateDecision });
  setHandler(abortUpdate, async (by) => {
    await verifiedAbort(by);
    await condition(() => result !== undefined);
    return result!;
  }, {
    validator: (by) => {
      checkAttribution(by);
      checkSigned(by);
      if (phase === "done") throw new Error(`directive ${directiveId} has already ended`);
    },
  });
  // Signals are fire-and-forget: a decision that cannot be stored is dropped,
  // and the stored state stays the truth.
  setHandler(approveSignal, async (by) => {
    try {
      await untilPolicyDecided();
      validateDecision(by);
      await decide("approved", by);
    } catch {
      // the reply would go nowhere; see the ledger for what happened
    }
  });
  setHandler(rejectSignal, async (by) => {
    try {
      await untilPolicyDecided();
      validateDecision(by);
      await decide("rejected", by);
    } catch {
      // as above
    }
  });
  setHandler(abortSignal, async (by) => {
    try {
      checkAttribution(by);
      if (version.signedDecisions()) checkSigned(by);
      await verifiedAbort(by);
    } catch {
      // as above
    }
  });

  function end(status: LoopResult["status"], reason: string): LoopResult {
    enter("done");
    directiveStatus = status;
    result = { directiveId, status, reason, runId, attempts: attempt };
    return result;
  }

  async function abort(by: Attribution): Promise<LoopResult> {
    // A run made ready by the auto-approval and never started ends with the directive.
    if (pendingRun !== null) {
      await CancellationScope.nonCancellable(() =>
        db.endRun({ runId: pendingRun!, status: "canceled", message: "canceled by abort" })
      );
      pendingRun = null;
    }
    const status = await db.finishDirective({ directiveId, to: "aborted", ...by });
    return end(status as LoopResult["status"], by.reason);
  }

  // 1. Policy (a stored verdict is reused, so a restarted loop resumes); the
  // single-workflow loop also records an auto-approval and readies attempt 1.
  const admission = version.oneWorkflow ? await local.admitDirective(directiveId) : undefined;
  const step = admission ?? await steps.evaluateDirectivePolicy(directiveId);
  directiveStatus = step.status;
  let pendingRun = admission?.runId ?? null;
  attempt = step.lastAttempt;
  if (step.status === "blocked") return end("blocked", step.reason);
  if (step.status === "complete" || step.status === "aborted") {
    return end(step.status, "already ended before this loop started");
  }

  // 2. The approval gate.
  if (step.status === "proposed") {
    if (admission?.autoApproved) {
      decided = "approved";
      directiveStatus = admission.directiveStatus;
    } else if (step.autoApprove) {
      await decide("approved", { actor: step.policyActor, reason: "auto-approved by policy" });
    } else {
      enter("awaiting_approval");
      const answered = await condition(
        () => (decided !== undefined && !deciding) || abortRequest !== undefined,
        step.approvalTimeoutSeconds * 1000,
      );
      if (abortRequest !== undefined && decided === undefined) return await abort(abortRequest);
      if (!answered) {
        return await abort({
          actor: "keel",
          reason: `approval timed out after ${step.approvalTimeoutSeconds}s`,
        });
      }
    }
    if (decided === "rejected") return end("aborted", "rejected at the approval gate");
  }
  if (abortRequest !== undefined) return await abort(abortRequest);

  // 3. Execution: one attempt at a time, as an activity of this workflow or
  // (earlier types) a child workflow.
  enter("executing");
  if (!version.oneWorkflow) directiveStatus = await steps.startExecution(directiveId);
  const attemptHere = async (n: number): Promise<ExecutionResult> => {
    let id = pendingRun;
    pendingRun = null;
    if (id === null) {
      const begun = await local.beginAttempt({ directiveId, attempt: n });
      directiveStatus = begun.directiveStatus;
      id = begun.runId;
    }
    runId = id;
    return await runAttempt(local, id, step.timeboxSeconds);
  };
  let outcome: ExecutionResult | undefined;
  let next = resumeAttempt(step);
  let limit = input.maxAttempts;
  while (next <= limit && abortRequest === undefined) {
    attempt = next;
    executionScope = new CancellationScope();
    try {
      outcome = await executionScope.run(() =>
        version.oneWorkflow ? attemptHere(attempt) : executeChild(
          version.sandboxedExecution() ? executionWorkflowV2 : executionWorkflow,
          {
            workflowId: executionWorkflowId(directiveId, attempt),
            args: [{ directiveId, attempt, timeboxSeconds: step.timeboxSeconds }],
            cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
            workflowIdReusePolicy: "ALLOW_DUPLICATE",
          },
        )
      );
    } catch (error) {
      if (!(isCancellation(error) || error instanceof ChildWorkflowFailure)) throw error;
      outcome = undefined;
    }
    executionScope = undefined;
    runId = outcome?.runId ?? runId;
    if (abortRequest !== undefined) break;
    if (outcome?.outcome !== "ERROR" && outcome?.status !== "lost") break;
    // The worker judges whether another attempt may follow; histories from
    // before it did so fall back to the loop's own limit.
    if (outcome.retryable === false) break;
    if (outcome.retryable === true) limit = Math.max(limit, attempt + 1);
    next = attempt + 1;
  }
  if (abortRequest !== undefined) return await abort(abortRequest);
  if (
    outcome === undefined || outcome.status === "canceled" || outcome.status === "lost" ||
    outcome.outcome === "ERROR"
  ) {
    return await abort({
      actor: "keel",
      reason: outcome === undefined
        ? "execution did not finish"
        : outcome.status === "canceled"
        ? `execution stopped: ${outcome.message}`
        : outcome.status === "lost"
        ? `execution stopped after ${attempt} attempt(s): ${outcome.message}; ` +
          `no further attempt (the module is not retry-safe, or no attempts remain)`
        : `execution failed after ${attempt} attempt(s): ${outcome.message}`,
    });
  }

  // 4. Evaluation observes; whatever happens to it, the outcome stands.
  enter("evaluating");
  const completion = `run ${outcome.status} with outcome ${outcome.outcome}: ${outcome.message}`;
  if (version.oneWorkflow) {
    // 5, with 4 in the same step: complete (the run records success or failure).
    const concluded = await local.concludeDirective({
      directiveId,
      runId: outcome.runId,
      reason: completion,
    });
    return end(concluded as LoopResult["status"], outcome.message);
  }
  try {
    await observe.evaluateRun({ directiveId, runId: outcome.runId });
  } catch {
    // a failed evaluator never changes the directive
  }

  // 5. Complete: the loop ran to its end (the run records success or failure).
  const status = await steps.finishDirective({
    directiveId,
    to: "complete",
    actor: "keel",
    reason: completion,
  });
  return end(status as LoopResult["status"], outcome.message);
}
