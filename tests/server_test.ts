/**
 * The HTTP API in-process on port 0, over a real Temporal dev server, the real
 * Postgres and an in-process worker.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { waitForLoop } from "../src/loop/mod.ts";
import { createHandler } from "../src/server/app.ts";
import { directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import {
  eventually,
  ledgerOf,
  type LoopHarness,
  type LoopHarnessOptions,
  startLoopHarness,
} from "./_loop.ts";

const TOKEN = "s3cret-token-for-alice";
const MAX = 4096;

async function withApi(
  tokens: ReadonlyMap<string, string>,
  fn: (base: string, h: LoopHarness) => Promise<void>,
  options: LoopHarnessOptions = {},
): Promise<void> {
  const h = await startLoopHarness(options);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createHandler({
      sql: h.sql,
      target: h.target,
      schema: builtinSchema(),
      tokens,
      maxBodyBytes: MAX,
      artifacts: h.artifacts,
    }),
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, h);
  } finally {
    await server.shutdown();
    await h.stop();
  }
}

function post(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function problemOf(response: Response, status: number): Promise<Record<string, unknown>> {
  assertEquals(response.status, status);
  assertEquals(response.headers.get("content-type"), "application/problem+json");
  const body = await response.json();
  assertEquals(body.status, status);
  return body;
}

async function gate(h: LoopHarness, id: string): Promise<void> {
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  await eventually(
    async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
    "the approval gate",
  );
}

const opts = { sanitizeOps: false, sanitizeResources: false };
const alice = new Map([[TOKEN, "alice"]]);

Deno.test({
  name: "server: submit, list, get, approve through the loop, download the artifact",
  ...opts,
  async fn() {
    await withApi(alice, async (base, h) => {
      assertEquals((await (await fetch(`${base}/healthz`)).json()).ok, true);
      const ready = await (await fetch(`${base}/readyz`)).json();
      assertEquals(ready.checks, { postgres: "ok", temporal: "ok" });

      const created = await post(
        `${base}/api/directives`,
        echoDocument({ payload: { message: "via http" } }),
        TOKEN,
      );
      assertEquals(created.status, 201);
      const id: string = (await created.json()).directive.id;
      await gate(h, id);

      const list = await (await fetch(`${base}/api/directives?status=proposed&type=echo`))
        .json();
      assertEquals(list.items.map((d: { id: string }) => d.id), [id]);
      const none = await (await fetch(`${base}/api/directives?status=complete`)).json();
      assertEquals(none.items, []);
      await problemOf(await fetch(`${base}/api/directives?limit=0`), 400);
      await problemOf(await fetch(`${base}/api/directives?status=bogus`), 400);

      const approved = await post(`${base}/api/directives/${id}/approve`, {
        reason: "looks right",
        actor: "mallory",
      }, TOKEN);
      // The body's actor is refused: the ledger actor is the token's identity.
      await problemOf(approved, 400);
      const ok = await post(
        `${base}/api/directives/${id}/approve`,
        { reason: "looks right" },
        TOKEN,
      );
      assertEquals(await ok.json(), { id, decision: "approved", status: "approved", via: "loop" });
      assertEquals((await waitForLoop(h.client, id)).status, "complete");

      const detail = await (await fetch(`${base}/api/directives/${id}`)).json();
      assertEquals(detail.directive.status, "complete");
      assertEquals(detail.approvals[0].actor, "alice");
      assertEquals(detail.approvals[0].reason, "looks right");
      assertEquals(detail.ledger.length, (await ledgerOf(h.sql, id)).length);
      assert(detail.policy.length >= 1);
      assertEquals(detail.runs.length, 1);
      const artifact = detail.artifacts[0];
      const body = await fetch(`${base}/api/directives/${id}/artifacts/${artifact.id}`);
      assertEquals(body.status, 200);
      assertEquals(await body.json(), { message: "via http" });
      await problemOf(
        await fetch(`${base}/api/directives/${id}/artifacts/${crypto.randomUUID()}`),
        404,
      );
      await problemOf(await fetch(`${base}/api/directives/${crypto.randomUUID()}`), 404);
      const late = await post(`${base}/api/directives/${id}/abort`, { reason: "too late" }, TOKEN);
      await problemOf(late, 409);
    });
  },
});

Deno.test({
  name: "server: auth failures, body limit, invalid JSON and bad documents leave no rows",
  ...opts,
  async fn() {
    await withApi(alice, async (base, h) => {
      const doc = echoDocument();
      await problemOf(await post(`${base}/api/directives`, doc), 401);
      await problemOf(await post(`${base}/api/directives`, doc, "wrong"), 401);
      await problemOf(await post(`${base}/api/directives`, "{not json", TOKEN), 400);
      const huge = echoDocument({ payload: { message: "x".repeat(MAX) } });
      await problemOf(await post(`${base}/api/directives`, huge, TOKEN), 413);
      const bad = await problemOf(
        await post(`${base}/api/directives`, { ...doc, objective: 7 }, TOKEN),
        400,
      );
      assertStringIncludes(JSON.stringify(bad.errors), "objective");
      const [count] = await h.sql`SELECT count(*)::int AS n FROM directives`;
      assertEquals(count?.n, 0);

      const created = await post(`${base}/api/directives`, doc, TOKEN);
      const id: string = (await created.json()).directive.id;
      await gate(h, id);
      await problemOf(await post(`${base}/api/directives/${id}/abort`, {}, TOKEN), 400);
      await problemOf(await post(`${base}/api/directives/${id}/abort`, { reason: "x" }), 401);
      const aborted = await post(
        `${base}/api/directives/${id}/abort`,
        { reason: "changed mind" },
        TOKEN,
      );
      assertEquals((await aborted.json()).status, "aborted");
      const [transition] = await h.sql`
        SELECT actor FROM directive_transitions WHERE directive_id = ${id} AND to_status = 'aborted'`;
      assertEquals(transition?.actor, "alice");
    });
  },
});

Deno.test({
  name: "server: without tokens the API is read-only",
  ...opts,
  async fn() {
    await withApi(new Map(), async (base, h) => {
      await problemOf(await post(`${base}/api/directives`, echoDocument(), "anything"), 403);
      const [count] = await h.sql`SELECT count(*)::int AS n FROM directives`;
      assertEquals(count?.n, 0);
      assertEquals((await (await fetch(`${base}/api/directives`)).json()).items, []);
      await problemOf(await fetch(`${base}/nope`), 404);
    });
  },
});

Deno.test({
  name: "server: OpenAPI from the zod schemas, CORS only when configured",
  ...opts,
  async fn() {
    await withApi(alice, async (base) => {
      const doc = await (await fetch(`${base}/openapi.json`)).json();
      assertEquals(doc.openapi, "3.1.0");
      assertEquals(doc.components.schemas.DecisionBody.required, ["reason"]);
      assert(doc.paths["/api/directives/{id}/abort"].post);
      const listed = await fetch(`${base}/api/directives`, { headers: { origin: "http://evil" } });
      assertEquals(listed.headers.get("access-control-allow-origin"), null);
      await listed.body?.cancel();
    });
  },
});

Deno.test({
  name:
    "server: a stored artifact downloads verified; a late score is recorded as the token's identity",
  ...opts,
  async fn() {
    await withApi(alice, async (base, h) => {
      const created = await post(
        `${base}/api/directives`,
        echoDocument({ payload: { message: "big", text: "x".repeat(1000), repeat: 100 } }),
        TOKEN,
      );
      assertEquals(created.status, 201);
      const id: string = (await created.json()).directive.id;
      assertEquals((await waitForLoop(h.client, id)).status, "complete");
      const detail = await (await fetch(`${base}/api/directives/${id}`)).json();
      const artifact = detail.artifacts[0];
      assert(String(artifact.storage_uri).startsWith("fs:sha256/"), artifact.storage_uri);
      const download = await fetch(`${base}/api/directives/${id}/artifacts/${artifact.id}`);
      assertEquals(download.status, 200);
      assertStringIncludes(String(download.headers.get("content-disposition")), "attachment");
      const echoed = await download.json();
      assertEquals(echoed.length, 100);
      assertEquals(Number(artifact.size_bytes), JSON.stringify(echoed).length);

      await problemOf(await post(`${base}/api/directives/${id}/scores`, { score: 0.9 }), 401);
      await problemOf(
        await post(`${base}/api/directives/${id}/scores`, { score: 1.5 }, TOKEN),
        400,
      );
      const scored = await post(
        `${base}/api/directives/${id}/scores`,
        { score: 0.9, dimensions: { clarity: 0.8 }, note: "read it" },
        TOKEN,
      );
      assertEquals(scored.status, 201);
      const rows = await h.sql`
        SELECT evaluator, score, run_id FROM evaluations
         WHERE directive_id = ${id} AND run_id IS NULL`;
      assertEquals(rows.map((r) => [r.evaluator, r.score]), [["human:alice", 0.9]]);
    }, { policy: { auto_approve_types: ["noop", "echo"] } });
  },
});
