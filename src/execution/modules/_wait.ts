import type { ModuleContext } from "../module.ts";

/** Thrown when a wait is cut short by cancellation. */
export class WaitAbortedError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WaitAbortedError";
  }
}

/**
 * Waits `ms` milliseconds, heartbeating every 500 ms so cancellation can reach
 * the activity, and rejects as soon as the context's signal aborts.
 */
export function waitFor(ms: number, context: ModuleContext): Promise<void> {
  return new Promise((resolve, reject) => {
    if (context.signal.aborted) return reject(new WaitAbortedError("canceled before waiting"));
    const beat = setInterval(() => context.heartbeat(), 500);
    const done = setTimeout(() => {
      cleanup();
      resolve();
    }, ms);
    const onAbort = () => {
      cleanup();
      reject(new WaitAbortedError(`canceled while waiting ${ms} ms`));
    };
    function cleanup(): void {
      clearInterval(beat);
      clearTimeout(done);
      context.signal.removeEventListener("abort", onAbort);
    }
    context.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Reads an optional non-negative whole `key` (milliseconds) from a payload. */
export function delayOf(payload: Readonly<Record<string, unknown>>, key: string): number {
  const value = payload[key];
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;
}
