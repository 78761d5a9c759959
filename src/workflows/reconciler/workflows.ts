import { continueAsNew, proxyActivities, sleep } from "@temporalio/workflow";
import type { ReconcileActivities } from "../../activities/reconcile.ts";

const { reconcileDirectives } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: "2 minutes",
  heartbeatTimeout: "30 seconds",
  retry: { initialInterval: "1 second", maximumInterval: "30 seconds" },
});

/** Input of the reconciler. */
export interface ReconcilerInput {
  /** Seconds between passes. */
  readonly intervalSeconds: number;
  /** Directives examined per pass. */
  readonly batchSize: number;
  /** Passes before continuing as new, which bounds the history. */
  readonly passesPerRun: number;
}

/**
 * Adopts directives the database says need work but that have no running
 * loop (for example, approved while no worker ran). Runs forever, continuing
 * as new every `passesPerRun` passes.
 */
export async function reconcilerWorkflow(input: ReconcilerInput): Promise<never> {
  for (let pass = 0; pass < input.passesPerRun; pass++) {
    await reconcileDirectives(input.batchSize);
    await sleep(input.intervalSeconds * 1000);
  }
  return await continueAsNew<typeof reconcilerWorkflow>(input);
}
