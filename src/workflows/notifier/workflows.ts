import { continueAsNew, proxyActivities, sleep } from "@temporalio/workflow";
import type { NotifyActivities } from "../../activities/notify.ts";

const { deliverWebhooks } = proxyActivities<NotifyActivities>({
  startToCloseTimeout: "2 minutes",
  heartbeatTimeout: "1 minute",
  retry: { initialInterval: "1 second", maximumInterval: "30 seconds" },
});

/** Input of the notifier. */
export interface NotifierInput {
  /** Seconds between passes when nothing was due. */
  readonly intervalSeconds: number;
  /** Deliveries sent per pass. */
  readonly batchSize: number;
  /** Passes before continuing as new, which bounds the history. */
  readonly passesPerRun: number;
}

/**
 * Sends due webhook deliveries forever: a pass that found a full batch runs
 * again at once, otherwise it sleeps. It reads only the delivery log, so it
 * cannot hold up or change any directive.
 */
export async function notifierWorkflow(input: NotifierInput): Promise<never> {
  for (let pass = 0; pass < input.passesPerRun; pass++) {
    const report = await deliverWebhooks(input.batchSize);
    if (report.sent < input.batchSize) await sleep(input.intervalSeconds * 1000);
  }
  return await continueAsNew<typeof notifierWorkflow>(input);
}
