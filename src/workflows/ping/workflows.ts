import { proxyActivities } from "@temporalio/workflow";
import type { PingActivities } from "../../activities/ping.ts";

const { databaseTime } = proxyActivities<PingActivities>({
  startToCloseTimeout: "10 seconds",
  retry: { maximumAttempts: 3, initialInterval: "200 milliseconds" },
});

/** The result of a ping: proof that a worker and its database answer. */
export interface PingResult {
  /** The database server's clock, ISO 8601. */
  readonly databaseTime: string;
}

/**
 * An operational check: one activity that asks Postgres for its clock. It shows
 * the whole path (client → Temporal → worker → Postgres) works.
 */
export async function pingWorkflow(): Promise<PingResult> {
  return { databaseTime: await databaseTime() };
}
