/**
 * The bare-Temporal baselines: one workflow that runs `count` no-op
 * activities one after another. With 1 it is the honest baseline, the least a
 * user writes to run an action durably; with as many as Keel's directive
 * schedules, the one kept for continuity. Bundled by the bench's own worker;
 * imports activity types only.
 *
 * @module
 */
import { proxyActivities, proxyLocalActivities } from "@temporalio/workflow";
import type { BareActivities } from "./activities.ts";

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: "30 seconds" });
const local = proxyLocalActivities<BareActivities>({ startToCloseTimeout: "30 seconds" });

/** Runs `count` no-op activities in sequence and returns how many ran. */
export async function bareWorkflow(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await noop();
  return count;
}

/** Runs `count` no-op local activities in sequence (`bench/floor.ts`). */
export async function bareLocalWorkflow(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await local.noop();
  return count;
}
