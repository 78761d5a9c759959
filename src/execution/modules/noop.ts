import { defineModule } from "../define.ts";
import { delayOf, waitFor } from "./_wait.ts";

/**
 * Does nothing and succeeds: the cheapest trip through the loop. With
 * `{"sleep_ms": N}` it first waits N ms, heartbeating and honouring
 * cancellation (for exercising aborts, timeboxes and crashes).
 */
export const noopModule = defineModule({
  type: "noop",
  entry: import.meta.url,
  retrySafe: true,
  description: "does nothing and succeeds; payload sleep_ms waits first",
  async execute(input, context) {
    const ms = delayOf(input.payload, "sleep_ms");
    if (ms > 0) await waitFor(ms, context);
    return {
      status: "SUCCESS",
      result: ms > 0 ? { slept_ms: ms } : null,
      message: ms > 0 ? `slept ${ms} ms` : "nothing to do",
      artifacts: [],
      budgetConsumed: "0",
    };
  },
});
