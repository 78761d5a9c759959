/**
 * Execution attempts. {@linkcode runAttempt} runs one, as an activity of the
 * workflow that calls it: the single-workflow loop calls it directly. The
 * child workflows are the earlier releases, kept so that attempts in flight
 * across an upgrade replay: `executionWorkflowV2` runs the module once in the
 * worker's sandbox, `executionWorkflow` predates the sandbox.
 *
 * @module
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  sleep,
  TimeoutFailure,
} from "@temporalio/workflow";
import type { DirectiveActivities } from "../../activities/directive.ts";
import { steps } from "./_steps.ts";
import type { ExecutionInput, ExecutionResult } from "./api.ts";

/**
 * One execution attempt as a child workflow (loops started before the
 * single-workflow loop): creates its run (idempotently) and runs it with
 * {@linkcode runAttempt}.
 */
export async function executionWorkflowV2(input: ExecutionInput): Promise<ExecutionResult> {
  const runId = await steps.createRun({ directiveId: input.directiveId, attempt: input.attempt });
  return await runAttempt(steps, runId, input.timeboxSeconds);
}

/** The database steps an attempt records its ending with: activities or local activities. */
export type AttemptSteps = Pick<DirectiveActivities, "endRun">;

/**
 * Runs the module of `runId` once as an activity and returns how the run
 * ended. The worker's sandbox enforces the timebox (it kills the module's
 * process at the deadline) and records the ending; this only reacts when the
 * activity could not report: a cancellation (an abort: the activity is
 * awaited until the module's process is gone, then the run is recorded
 * `canceled`), or a worker that died (the activity times out on its
 * heartbeat, and the run is recorded `lost`, or run again when it had not
 * started). Shared by {@linkcode executionWorkflowV2} and the single-workflow
 * loop, which records with local activities.
 */
export async function runAttempt(
  db: AttemptSteps,
  runId: string,
  timeboxSeconds: number,
): Promise<ExecutionResult> {
  const act = proxyActivities<DirectiveActivities>({
    // A backstop only: the sandbox ends the module at the timebox itself.
    startToCloseTimeout: `${timeboxSeconds + LOST_AFTER_SECONDS} seconds`,
    heartbeatTimeout: `${LOST_AFTER_SECONDS} seconds`,
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  for (;;) {
    try {
      return await act.executeRun(runId);
    } catch (error) {
      if (isCancellation(error)) {
        return await CancellationScope.nonCancellable(() =>
          db.endRun({ runId, status: "canceled", message: "canceled by abort" })
        );
      }
      const abandoned = error instanceof ActivityFailure &&
        error.cause instanceof ApplicationFailure && error.cause.type === "RunAbandonedError";
      if (
        error instanceof ActivityFailure && (error.cause instanceof TimeoutFailure || abandoned)
      ) {
        const settled = await db.endRun({
          runId,
          status: "lost",
          message: error.cause instanceof TimeoutFailure
            ? `the worker running it stopped answering (${
              error.cause.timeoutType === "HEARTBEAT"
                ? `no heartbeat for ${LOST_AFTER_SECONDS}s`
                : `no answer within the timebox and ${LOST_AFTER_SECONDS}s`
            })`
            : `its worker gave it up: ${error.cause?.message ?? "no reason given"}`,
        });
        if (settled.status === "pending") continue; // nothing had started: run it now
        return settled;
      }
      const message = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure
        ? error.cause.message
        : error instanceof Error
        ? error.message
        : String(error);
      return await db.endRun({ runId, status: "failed", message });
    }
  }
}

/** Seconds without a heartbeat after which the worker running a module is taken as gone. */
const LOST_AFTER_SECONDS = 10;

/**
 * One execution attempt as released before the sandbox (kept for children
 * already running when the worker was upgraded; new loops start
 * {@linkcode executionWorkflowV2}): creates its run (idempotently), runs the module
 * under the timebox, both as the activity's start-to-close timeout and as a
 * workflow timer, and records how the run ended.
 */
export async function executionWorkflow(input: ExecutionInput): Promise<ExecutionResult> {
  const runId = await steps.createRun({ directiveId: input.directiveId, attempt: input.attempt });
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
      steps.endRun({ runId, status: stopped ? "canceled" : "failed", message })
    );
  } finally {
    timerScope.cancel();
  }
}
