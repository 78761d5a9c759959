import { continueAsNew, proxyActivities, sleep } from "@temporalio/workflow";
import type { MemoryActivities } from "../../activities/memory.ts";

const { indexMemories } = proxyActivities<MemoryActivities>({
  startToCloseTimeout: "5 minutes",
  retry: { initialInterval: "1 second", maximumInterval: "1 minute" },
});

/** Input of the memory indexer. */
export interface MemoryIndexerInput {
  /** Seconds between passes when nothing was left to index. */
  readonly intervalSeconds: number;
  /** Directives embedded per pass. */
  readonly batchSize: number;
  /** Passes before continuing as new, which bounds the history. */
  readonly passesPerRun: number;
  /** The ledger row after which completed directives are looked for ("0": all). */
  readonly after: string;
}

/**
 * Remembers completed directives forever: each pass embeds the next ones in
 * the order they completed, carrying its position across passes and runs.
 * It reads the ledger and writes only memories and their budget rows, so it
 * cannot hold up or change a directive.
 */
export async function memoryIndexerWorkflow(input: MemoryIndexerInput): Promise<never> {
  let after = input.after;
  for (let pass = 0; pass < input.passesPerRun; pass++) {
    const report = await indexMemories({ after, limit: input.batchSize });
    after = report.after;
    if (report.indexed + report.skipped < input.batchSize) {
      await sleep(input.intervalSeconds * 1000);
    }
  }
  return await continueAsNew<typeof memoryIndexerWorkflow>({ ...input, after });
}
