/**
 * The activity proxy the loop and its execution children share for database
 * steps: short, retried on infrastructure errors; business errors arrive as
 * non-retryable ApplicationFailures.
 *
 * @module
 */
import { proxyActivities } from "@temporalio/workflow";
import type { DirectiveActivities } from "../../activities/directive.ts";
import type { DecisionActivities } from "../../activities/decisions.ts";

/** Database steps of the directive loop. */
export const steps = proxyActivities<DirectiveActivities & DecisionActivities>({
  startToCloseTimeout: "30 seconds",
  retry: {
    initialInterval: "500 milliseconds",
    backoffCoefficient: 2,
    maximumInterval: "10 seconds",
  },
});
