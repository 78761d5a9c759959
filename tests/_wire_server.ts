/**
 * A local HTTP server on loopback that speaks a provider's wire format, for
 * providers the tests cannot reach. Each test queues the responses it wants
 * and reads back what the client sent.
 *
 * @module
 */

/** One request the server received. */
export interface ReceivedRequest {
  /** The method. */
  readonly method: string;
  /** The path. */
  readonly path: string;
  /** The headers, lower-cased names. */
  readonly headers: Record<string, string>;
  /** The body, parsed when it is JSON. */
  readonly body: unknown;
}

/** A scripted reply. */
export interface Reply {
  /** The status; 200 when absent. */
  readonly status?: number;
  /** Extra response headers. */
  readonly headers?: Record<string, string>;
  /** A JSON body, serialized. */
  readonly json?: unknown;
  /** A raw body, sent as is (for malformed JSON). */
  readonly raw?: string;
  /** Never answer (until the server closes): the client must time out. */
  readonly hang?: boolean;
}

/** A running wire server. */
export interface WireServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request received so far, in order. */
  readonly received: ReceivedRequest[];
  /** Queues replies; when the queue is empty, `fallback` answers. */
  reply(...replies: Reply[]): void;
  /** Stops the server, releasing hung requests. */
  close(): Promise<void>;
}

/** Starts a server whose unscripted requests get `fallback`. */
export function startWireServer(fallback: (request: ReceivedRequest) => Reply): WireServer {
  const queue: Reply[] = [];
  const received: ReceivedRequest[] = [];
  const hung = new Set<() => void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const text = await request.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the raw text
      }
      const seen: ReceivedRequest = {
        method: request.method,
        path: new URL(request.url).pathname,
        headers: Object.fromEntries(request.headers.entries()),
        body,
      };
      received.push(seen);
      const reply = queue.shift() ?? fallback(seen);
      if (reply.hang) {
        await new Promise<void>((resolve) => hung.add(resolve));
        return new Response("closed", { status: 503 });
      }
      const payload = reply.raw ?? JSON.stringify(reply.json ?? {});
      return new Response(payload, {
        status: reply.status ?? 200,
        headers: { "content-type": "application/json", ...reply.headers },
      });
    },
  );
  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    reply(...replies) {
      queue.push(...replies);
    },
    async close() {
      for (const resolve of hung) resolve();
      await server.shutdown();
    },
  };
}
