/**
 * The activity proxies the loop and its execution children share for database
 * steps: short, retried on infrastructure errors; business errors arrive as
 * non-retryable ApplicationFailures.
 *
 * @module
 */
import { proxyActivities, proxyLocalActivities } from "@temporalio/workflow";
import type { DirectiveActivities } from "../../activities/directive.ts";
import type { DecisionActivities } from "../../activities/decisions.ts";
import type { LoopActivities } from "../../activities/loop.ts";

const DATABASE_STEP = {
  startToCloseTimeout: "30 seconds",
  retry: {
    initialInterval: "500 milliseconds",
    backoffCoefficient: 2,
    maximumInterval: "10 seconds",
  },
} as const;

/** Database steps of the directive loop. */
export const steps = proxyActivities<DirectiveActivities & DecisionActivities>(DATABASE_STEP);

/**
 * The same steps as local activities (run by the worker that runs the
 * workflow task, recorded as a marker rather than scheduled through the
 * server), and the single-workflow loop's combined steps.
 */
export const local = proxyLocalActivities<
  DirectiveActivities & DecisionActivities & LoopActivities
>(DATABASE_STEP);
