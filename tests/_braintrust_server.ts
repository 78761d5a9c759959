/**
 * A local server that speaks the two Braintrust REST calls Keel makes:
 * `POST /v1/project` (create or return a project by name) and
 * `POST /v1/project_logs/{id}/insert` (append events), with Braintrust's
 * error shapes when told to fail.
 */

/** What the server saw and how it answers. */
export interface BraintrustServer {
  /** Base URL, for BRAINTRUST_API_URL. */
  readonly url: string;
  /** Every request: method, path, authorization header and parsed body. */
  readonly requests: { path: string; authorization: string | null; body: unknown }[];
  /** Forces the next answers: an HTTP status, `malformed` JSON, or `hang`. */
  fail(mode: number | "malformed" | "hang" | undefined): void;
  /** Stops the server. */
  stop(): Promise<void>;
}

/** Starts it on a free loopback port; `apiKey` is the only key it accepts. */
export function startBraintrustServer(apiKey: string): BraintrustServer {
  const requests: BraintrustServer["requests"] = [];
  const projectId = crypto.randomUUID();
  let mode: number | "malformed" | "hang" | undefined;
  const hanging = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const text = await req.text();
    const authorization = req.headers.get("authorization");
    requests.push({ path, authorization, body: text ? JSON.parse(text) : null });
    if (mode === "hang") {
      await new Promise<void>((resolve) => hanging.add(resolve));
      return new Response("late", { status: 504 });
    }
    if (mode === "malformed") return new Response("{not json", { status: 200 });
    if (typeof mode === "number") {
      return Response.json({ error: { message: `forced ${mode}` } }, { status: mode });
    }
    if (authorization !== `Bearer ${apiKey}`) {
      return Response.json({ error: { message: "Invalid API key" } }, { status: 401 });
    }
    if (req.method === "POST" && path === "/v1/project") {
      const { name } = JSON.parse(text) as { name: string };
      return Response.json({ id: projectId, name, org_id: "org", created: new Date() });
    }
    const insert = path.match(/^\/v1\/project_logs\/([^/]+)\/insert$/);
    if (req.method === "POST" && insert) {
      if (insert[1] !== projectId) {
        return Response.json({ error: { message: "Project not found" } }, { status: 404 });
      }
      const { events } = JSON.parse(text) as { events: { id?: string }[] };
      return Response.json({ row_ids: events.map((e) => e.id ?? crypto.randomUUID()) });
    }
    return Response.json({ error: { message: `No route ${path}` } }, { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    fail: (next) => {
      mode = next;
    },
    async stop() {
      for (const release of hanging) release();
      await server.shutdown();
    },
  };
}
