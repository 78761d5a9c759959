import { continueAsNew, patched, proxyActivities, sleep } from "@temporalio/workflow";
import type { ReconcileActivities } from "../../activities/reconcile.ts";
import type { AnchorActivities } from "../../activities/anchor.ts";

const { reconcileDirectives } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: "2 minutes",
  heartbeatTimeout: "30 seconds",
  retry: { initialInterval: "1 second", maximumInterval: "30 seconds" },
});

// Bounded retries: a store that stays unreachable must not stall reconciling.
const { anchorLedger } = proxyActivities<AnchorActivities>({
  startToCloseTimeout: "2 minutes",
  retry: { initialInterval: "1 second", maximumInterval: "30 seconds", maximumAttempts: 3 },
});

/** The patch that added ledger anchoring; histories recorded before it replay without it. */
export const LEDGER_ANCHOR_PATCH = "keel-ledger-anchor";

/** Passes between ledger anchors when the input does not say. */
export const DEFAULT_ANCHOR_EVERY_PASSES = 10;

/** Input of the reconciler. */
export interface ReconcilerInput {
  /** Seconds between passes. */
  readonly intervalSeconds: number;
  /** Directives examined per pass. */
  readonly batchSize: number;
  /** Passes before continuing as new, which bounds the history. */
  readonly passesPerRun: number;
  /** Anchor the ledger outside Postgres every this many passes (default 10). */
  readonly anchorEveryPasses?: number;
}

/**
 * Adopts directives the database says need work but that have no running
 * loop (for example, approved while no worker ran), and every few passes
 * anchors the ledger's head in the artifact store. Runs forever, continuing
 * as new every `passesPerRun` passes.
 */
export async function reconcilerWorkflow(input: ReconcilerInput): Promise<never> {
  const every = Math.max(1, input.anchorEveryPasses ?? DEFAULT_ANCHOR_EVERY_PASSES);
  for (let pass = 0; pass < input.passesPerRun; pass++) {
    await reconcileDirectives(input.batchSize);
    if (pass % every === 0 && patched(LEDGER_ANCHOR_PATCH)) {
      try {
        await anchorLedger();
      } catch {
        // The activity logged why; the next anchoring pass tries again.
      }
    }
    await sleep(input.intervalSeconds * 1000);
  }
  return await continueAsNew<typeof reconcilerWorkflow>(input);
}
