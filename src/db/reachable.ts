const CONNECTION_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE", // written to a connection the server had closed
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08006",
]);

/** Whether an error means Postgres could not be reached, rather than refused the statement. */
export function isConnectionError(error: unknown): boolean {
  return CONNECTION_ERRORS.has(
    String((error as { code?: unknown } | null | undefined)?.code ?? ""),
  );
}

/** How {@linkcode untilReachable} waits. */
export interface ReachableOptions {
  /** Called once a second while waiting (e.g. an activity heartbeat). */
  readonly onWait?: () => void;
  /** Called on the first failed try, with its error. */
  readonly onFirstFailure?: (error: unknown) => void;
  /** Tries before giving up (default 600: ten minutes). */
  readonly tries?: number;
}

/**
 * Runs `fn`, trying again every second while Postgres is unreachable; any
 * other error is thrown at once. For writes that record what has already
 * happened (a module has acted): those must be waited out, never given up.
 *
 * @example
 * ```ts
 * await untilReachable(() => finishRun(sql, runId, ending), { onWait: heartbeat });
 * ```
 */
export async function untilReachable<T>(
  fn: () => Promise<T>,
  options: ReachableOptions = {},
): Promise<T> {
  const tries = options.tries ?? 600;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error) || attempt >= tries) throw error;
      if (attempt === 1) options.onFirstFailure?.(error);
      options.onWait?.();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}
