/**
 * The bare-Temporal baseline: one workflow that runs `count` no-op activities
 * one after another, as Keel's directive loop runs its steps. Bundled by the
 * bench's own worker; imports activity types only.
 *
 * @module
 */
import { proxyActivities } from "@temporalio/workflow";
import type { BareActivities } from "./activities.ts";

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: "30 seconds" });

/** Runs `count` no-op activities in sequence and returns how many ran. */
export async function bareWorkflow(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await noop();
  return count;
}
