import { defineModule } from "../define.ts";
import { delayOf, waitFor } from "./_wait.ts";

/** The most copies `repeat` may ask for. */
export const ECHO_MAX_REPEAT = 1000;

function repeatOf(payload: Readonly<Record<string, unknown>>): number {
  const value = payload.repeat;
  return typeof value === "number" && Number.isInteger(value) && value >= 1
    ? Math.min(value, ECHO_MAX_REPEAT)
    : 1;
}

/**
 * Echoes the payload into an `echo` artifact (JSON) and succeeds. With
 * `{"delay_ms": N}` it waits N ms first, heartbeating and honouring
 * cancellation. With `{"repeat": N}` (at most 1000) the artifact is a JSON
 * array of N copies of the payload: the way to produce a body larger than a
 * payload may be, e.g. to exercise the object store.
 */
export const echoModule = defineModule({
  type: "echo",
  entry: import.meta.url,
  retrySafe: true,
  description:
    "echoes the payload into a JSON artifact; payload delay_ms waits first, repeat copies it",
  async execute(input, context) {
    const ms = delayOf(input.payload, "delay_ms");
    if (ms > 0) await waitFor(ms, context);
    context.heartbeat();
    const copies = repeatOf(input.payload);
    const text = JSON.stringify(input.payload);
    const json = copies === 1 ? text : `[${Array.from({ length: copies }, () => text).join(",")}]`;
    const body = new TextEncoder().encode(json);
    return {
      status: "SUCCESS",
      result: { bytes: body.length },
      message: `echoed ${body.length} bytes`,
      artifacts: [{ kind: "echo", contentType: "application/json", body }],
      budgetConsumed: "0",
    };
  },
});
