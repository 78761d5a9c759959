/**
 * A witness: a loopback HTTP server, outside the worker, that records every
 * request it receives with its `Idempotency-Key` the moment it arrives. Tests
 * count effects with it rather than rows. Paths under a held prefix wait for
 * {@linkcode Witness.release} before they are answered, so a test can catch a
 * module mid-request; `/hop/<rest>` answers `307` to `/effect/<rest>`.
 */

/** One request the witness saw. */
export interface Effect {
  /** The request's `Idempotency-Key` header ("" when absent). */
  readonly key: string;
  /** Path and query. */
  readonly path: string;
  /** The HTTP method. */
  readonly method: string;
}

/** A running witness. */
export interface Witness {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request so far, in order of arrival. */
  readonly effects: Effect[];
  /** Requests whose path starts with `prefix`. */
  seen(prefix: string): Effect[];
  /** How many requests under `prefix` have been answered. */
  answered(prefix: string): number;
  /** Holds the answers to requests under `prefix` until released. */
  hold(prefix: string): void;
  /**
   * Answers the held requests under `prefix` and stops holding it (and any
   * held prefix under it); with no prefix, answers every held request and
   * stops holding.
   */
  release(prefix?: string): void;
  /** Stops it. */
  stop(): Promise<void>;
}

/** Starts a witness on a free loopback port. */
export function startWitness(): Witness {
  const effects: Effect[] = [];
  const answers: string[] = [];
  let held: string[] = [];
  let waiting: { path: string; resolve: () => void }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const path = url.pathname + url.search;
    effects.push({
      key: request.headers.get("idempotency-key") ?? "",
      path,
      method: request.method,
    });
    await request.body?.cancel();
    if (held.some((prefix) => path.startsWith(prefix))) {
      await new Promise<void>((resolve) => waiting.push({ path, resolve }));
    }
    answers.push(path);
    if (url.pathname.startsWith("/hop/")) {
      return new Response(null, {
        status: 307,
        headers: { location: url.pathname.replace("/hop/", "/effect/") },
      });
    }
    return new Response("seen", { headers: { "content-type": "text/plain" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    effects,
    seen: (prefix) => effects.filter((effect) => effect.path.startsWith(prefix)),
    answered: (prefix) => answers.filter((path) => path.startsWith(prefix)).length,
    hold: (prefix) => void held.push(prefix),
    release(prefix = "") {
      held = held.filter((kept) => !kept.startsWith(prefix));
      const answered = waiting.filter((entry) => entry.path.startsWith(prefix));
      waiting = waiting.filter((entry) => !entry.path.startsWith(prefix));
      for (const { resolve } of answered) resolve();
    },
    async stop() {
      this.release();
      await server.shutdown();
    },
  };
}
