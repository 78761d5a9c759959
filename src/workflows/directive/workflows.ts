import {
  ActivityFailure,
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
  sleep,
  TimeoutFailure,
  upsertMemo,
} from "@temporalio/workflow";
import type { DirectiveActivities } from "../../activities/directive.ts";
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  type Attribution,
  type DecisionReply,
  type DirectiveLoopInput,
  type ExecutionInput,
  type ExecutionResult,
  executionWorkflowId,
  type LoopPhase,
  type LoopResult,
  PHASE_MEMO_PATCH,
  rejectSignal,
  rejectUpdate,
  statusQuery,
} from "./api.ts";

// Database steps: short, retried on infrastructure errors; business errors
// arrive as non-retryable ApplicationFailures.
const db = proxyActivities<DirectiveActivities>({
  startToCloseTimeout: "30 seconds",
  retry: {
    initialInterval: "500 milliseconds",
    backoffCoefficient: 2,
    maximumInterval: "10 seconds",
  },
});

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
 * The attempt a (possibly restarted) loop runs first: the first one; the
 * unfinished last one again; the last one again when it finished with a
 * result (its stored result is returned, the module does not run); or the
 * next one after an ERROR or a cancellation.
 */
function resumeAttempt(
  step: { lastAttempt: number; lastAttemptEnded: boolean; lastOutcome: string | null },
): number {
  if (step.lastAttempt === 0) return 1;
  if (!step.lastAttemptEnded) return step.lastAttempt;
  const hasResult = step.lastOutcome === "SUCCESS" || step.lastOutcome === "FAILURE";
  return hasResult ? step.lastAttempt : step.lastAttempt + 1;
}

/** How one version of the loop differs from another. */
export interface LoopVersion {
  /**
   * Whether to publish the phase as the `keel_phase` memo, which
   * `temporal workflow describe` shows even when no worker is running.
   * Asked at every phase change.
   */
  readonly phaseMemo: () => boolean;
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
  return await runDirectiveLoop(input, { phaseMemo: () => patched(PHASE_MEMO_PATCH) });
}

/**
 * The loop as released under a new workflow type: it always publishes the
 * phase memo, so it carries no patch branch. Loops already open as
 * `directiveWorkflow` keep running on that type until they end.
 */
export async function directiveWorkflowV2(input: DirectiveLoopInput): Promise<LoopResult> {
  return await runDirectiveLoop(input, { phaseMemo: () => true });
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
  let phase: LoopPhase = "policy";
  let directiveStatus: string | null = null;
  let attempt = 0;
  let runId: string | null = null;
  let abortRequest: Attribution | undefined;
  let decided: "approved" | "rejected" | undefined;
  let deciding = false;
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
  }));

  async function decide(kind: "approved" | "rejected", by: Attribution): Promise<DecisionReply> {
    deciding = true;
    try {
      const reply = await db.recordDecision({ directiveId, decision: kind, ...by });
      decided = reply.decision;
      directiveStatus = reply.directiveStatus;
      return reply;
    } finally {
      deciding = false;
    }
  }

  function validateDecision(message: Attribution): void {
    checkAttribution(message);
    if (phase !== "awaiting_approval") {
      throw new Error(`directive ${directiveId} is not awaiting approval (phase: ${phase})`);
    }
    if (decided !== undefined || deciding) {
      throw new Error(`directive ${directiveId} already has a decision`);
    }
  }

  function requestAbort(by: Attribution): void {
    if (abortRequest !== undefined || phase === "done") return;
    abortRequest = by;
    executionScope?.cancel();
  }

  setHandler(approveUpdate, (by) => decide("approved", by), { validator: validateDecision });
  setHandler(rejectUpdate, (by) => decide("rejected", by), { validator: validateDecision });
  setHandler(abortUpdate, async (by) => {
    requestAbort(by);
    await condition(() => result !== undefined);
    return result!;
  }, {
    validator: (by) => {
      checkAttribution(by);
      if (phase === "done") throw new Error(`directive ${directiveId} has already ended`);
    },
  });
  // Signals are fire-and-forget: a decision that cannot be stored is dropped,
  // and the stored state stays the truth.
  setHandler(approveSignal, async (by) => {
    try {
      validateDecision(by);
      await decide("approved", by);
    } catch {
      // the reply would go nowhere; see the ledger for what happened
    }
  });
  setHandler(rejectSignal, async (by) => {
    try {
      validateDecision(by);
      await decide("rejected", by);
    } catch {
      // as above
    }
  });
  setHandler(abortSignal, (by) => {
    try {
      checkAttribution(by);
      requestAbort(by);
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
    const status = await db.finishDirective({ directiveId, to: "aborted", ...by });
    return end(status as LoopResult["status"], by.reason);
  }

  // 1. Policy (a stored verdict is reused, so a restarted loop resumes).
  const step = await db.evaluateDirectivePolicy(directiveId);
  directiveStatus = step.status;
  attempt = step.lastAttempt;
  if (step.status === "blocked") return end("blocked", step.reason);
  if (step.status === "complete" || step.status === "aborted") {
    return end(step.status, "already ended before this loop started");
  }

  // 2. The approval gate.
  if (step.status === "proposed") {
    if (step.autoApprove) {
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

  // 3. Execution: one child workflow per attempt.
  enter("executing");
  directiveStatus = await db.startExecution(directiveId);
  let outcome: ExecutionResult | undefined;
  let next = resumeAttempt(step);
  while (next <= input.maxAttempts && abortRequest === undefined) {
    attempt = next;
    executionScope = new CancellationScope();
    try {
      outcome = await executionScope.run(() =>
        executeChild(executionWorkflow, {
          workflowId: executionWorkflowId(directiveId, attempt),
          args: [{ directiveId, attempt, timeboxSeconds: step.timeboxSeconds }],
          cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          workflowIdReusePolicy: "ALLOW_DUPLICATE",
        })
      );
    } catch (error) {
      if (!(isCancellation(error) || error instanceof ChildWorkflowFailure)) throw error;
      outcome = undefined;
    }
    executionScope = undefined;
    runId = outcome?.runId ?? runId;
    if (abortRequest !== undefined) break;
    if (outcome?.outcome !== "ERROR") break;
    next = attempt + 1;
  }
  if (abortRequest !== undefined) return await abort(abortRequest);
  if (outcome === undefined || outcome.status === "canceled" || outcome.outcome === "ERROR") {
    return await abort({
      actor: "keel",
      reason: outcome === undefined
        ? "execution did not finish"
        : outcome.status === "canceled"
        ? `execution stopped: ${outcome.message}`
        : `execution failed after ${attempt} attempt(s): ${outcome.message}`,
    });
  }

  // 4. Evaluation observes; whatever happens to it, the outcome stands.
  enter("evaluating");
  try {
    await observe.evaluateRun({ directiveId, runId: outcome.runId });
  } catch {
    // a failed evaluator never changes the directive
  }

  // 5. Complete: the loop ran to its end (the run records success or failure).
  const status = await db.finishDirective({
    directiveId,
    to: "complete",
    actor: "keel",
    reason: `run ${outcome.status} with outcome ${outcome.outcome}: ${outcome.message}`,
  });
  return end(status as LoopResult["status"], outcome.message);
}

/**
 * One execution attempt: creates its run (idempotently), runs the module
 * under the timebox, both as the activity's start-to-close timeout and as a
 * workflow timer, and records how the run ended.
 */
export async function executionWorkflow(input: ExecutionInput): Promise<ExecutionResult> {
  const runId = await db.createRun({ directiveId: input.directiveId, attempt: input.attempt });
  const act = proxyActivities<DirectiveActivities>({
    startToCloseTimeout: `${input.timeboxSeconds} seconds`,
    heartbeatTimeout: "5 seconds",
    retry: { maximumAttempts: 2, initialInterval: "500 milliseconds" },
  });
  let timedOut = false;
  const scope = new CancellationScope();
  const timerScope = new CancellationScope();
  const timer = timerScope.run(async () => {
    await sleep(input.timeboxSeconds * 1000);
    timedOut = true;
    scope.cancel();
  });
  timer.catch(() => {}); // canceled when the run ends first
  try {
    return await scope.run(() => act.executeRun(runId));
  } catch (error) {
    const activityTimedOut = error instanceof ActivityFailure &&
      error.cause instanceof TimeoutFailure;
    const stopped = isCancellation(error) || timedOut || activityTimedOut;
    const message = timedOut || activityTimedOut
      ? `timebox of ${input.timeboxSeconds}s exceeded`
      : isCancellation(error)
      ? "canceled by abort"
      : error instanceof ActivityFailure && error.cause instanceof ApplicationFailure
      ? error.cause.message
      : error instanceof Error
      ? error.message
      : String(error);
    return await CancellationScope.nonCancellable(() =>
      db.endRun({ runId, status: stopped ? "canceled" : "failed", message })
    );
  } finally {
    timerScope.cancel();
  }
}
