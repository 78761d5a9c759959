import type { ExecutionModule } from "../module.ts";
import { delayOf, waitFor } from "./_wait.ts";

/**
 * Echoes the payload into an `echo` artifact (JSON) and succeeds. With
 * `{"delay_ms": N}` it waits N ms first, heartbeating and honouring
 * cancellation.
 */
export const echoModule: ExecutionModule = {
  type: "echo",
  description: "echoes the payload into a JSON artifact; payload delay_ms waits first",
  async execute(input, context) {
    const ms = delayOf(input.payload, "delay_ms");
    if (ms > 0) await waitFor(ms, context);
    context.heartbeat();
    const body = new TextEncoder().encode(JSON.stringify(input.payload));
    return {
      status: "SUCCESS",
      result: { bytes: body.length },
      message: `echoed ${body.length} bytes`,
      artifacts: [{ kind: "echo", contentType: "application/json", body }],
      budgetConsumed: "0",
    };
  },
};
