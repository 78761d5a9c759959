/**
 * The HTTP API in-process on port 0, over a real Temporal dev server, the real
 * Postgres and an in-process worker.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { waitForLoop } from "../src/loop/mod.ts";
import { directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { echoDocument } from "./_directives.ts";
import { eventually, ledgerOf, type LoopHarness, testPolicy } from "./_loop.ts";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { get, post, problemOf, testToken, withApi } from "./_api.ts";

const MAX = 4096;

const ALICE = await testToken("alice", ["read", "submit", "approve", "abort", "score"]);
const TOKEN = ALICE.token;
// Bob approves what Alice submits: the submitter may not approve her own.
const BOB = await testToken("bob", ["read", "approve"]);
const alice = { tokens: [ALICE.entry, BOB.entry] };

async function gate(h: LoopHarness, id: string): Promise<void> {
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  await eventually(
    async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
    "the approval gate",
  );
}

const opts = { sanitizeOps: false, sanitizeResources: false };

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

      const list = await (await get(`${base}/api/directives?status=proposed&type=echo`, TOKEN))
        .json();
      assertEquals(list.items.map((d: { id: string }) => d.id), [id]);
      const none = await (await get(`${base}/api/directives?status=complete`, TOKEN)).json();
      assertEquals(none.items, []);
      await problemOf(await get(`${base}/api/directives?limit=0`, TOKEN), 400);
      await problemOf(await get(`${base}/api/directives?status=bogus`, TOKEN), 400);

      const approved = await post(`${base}/api/directives/${id}/approve`, {
        reason: "looks right",
        actor: "mallory",
      }, TOKEN);
      // The body's actor is refused: the ledger actor is the token's identity.
      await problemOf(approved, 400);
      // Separation of duties: the submitter cannot approve; another principal can.
      const own = await problemOf(
        await post(`${base}/api/directives/${id}/approve`, { reason: "mine" }, TOKEN),
        409,
      );
      assertStringIncludes(String(own.detail), "separation of duties");
      const ok = await post(
        `${base}/api/directives/${id}/approve`,
        { reason: "looks right" },
        BOB.token,
      );
      assertEquals(await ok.json(), { id, decision: "approved", status: "approved", via: "loop" });
      assertEquals((await waitForLoop(h.client, id)).status, "complete");

      const detail = await (await get(`${base}/api/directives/${id}`, TOKEN)).json();
      assertEquals(detail.directive.status, "complete");
      assertEquals(detail.approvals[0].actor, "bob");
      assertEquals(detail.directive.submitted_by, "alice");
      assertEquals(detail.approvals[0].reason, "looks right");
      assertEquals(detail.ledger.length, (await ledgerOf(h.sql, id)).length);
      assert(detail.policy.length >= 1);
      assertEquals(detail.runs.length, 1);
      const artifact = detail.artifacts[0];
      const body = await get(`${base}/api/directives/${id}/artifacts/${artifact.id}`, TOKEN);
      assertEquals(body.status, 200);
      assertEquals(await body.json(), { message: "via http" });
      await problemOf(
        await get(`${base}/api/directives/${id}/artifacts/${crypto.randomUUID()}`, TOKEN),
        404,
      );
      await problemOf(await get(`${base}/api/directives/${crypto.randomUUID()}`, TOKEN), 404);
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
  name: "server: without a token every /api route answers 401; KEEL_PUBLIC_READ opens only reads",
  ...opts,
  async fn() {
    await withApi({ tokens: [ALICE.entry], publicRead: true }, async (base, h) => {
      await problemOf(await post(`${base}/api/directives`, echoDocument()), 401);
      await problemOf(await post(`${base}/api/directives`, echoDocument(), "anything"), 401);
      const [count] = await h.sql`SELECT count(*)::int AS n FROM directives`;
      assertEquals(count?.n, 0);
      assertEquals((await (await get(`${base}/api/directives`)).json()).items, []);
      // A wrong token is refused even where reads are public.
      await problemOf(await get(`${base}/api/directives`, "wrong"), 401);
      const id = crypto.randomUUID();
      await problemOf(await get(`${base}/api/directives/${id}`), 404);
      for (const action of ["approve", "reject", "abort"]) {
        await problemOf(await post(`${base}/api/directives/${id}/${action}`, { reason: "x" }), 401);
      }
      await problemOf(await post(`${base}/api/directives/${id}/scores`, { score: 1 }), 401);
      await problemOf(await get(`${base}/nope`), 404);
    });
    await withApi({ tokens: [] }, async (base) => {
      await problemOf(await get(`${base}/api/directives`), 401);
      assertEquals((await get(`${base}/healthz`)).status, 200);
    }, { noWorker: true });
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
      const listed = await fetch(`${base}/api/directives`, {
        headers: { origin: "http://evil", authorization: `Bearer ${TOKEN}` },
      });
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
      const detail = await (await get(`${base}/api/directives/${id}`, TOKEN)).json();
      const artifact = detail.artifacts[0];
      assert(String(artifact.storage_uri).startsWith("fs:sha256/"), artifact.storage_uri);
      const download = await get(`${base}/api/directives/${id}/artifacts/${artifact.id}`, TOKEN);
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

Deno.test({
  name:
    "server: reasons the ledger cannot store are refused at once; the directive stays decidable",
  ...opts,
  async fn() {
    await withApi(alice, async (base, h) => {
      const created = await post(`${base}/api/directives`, echoDocument(), TOKEN);
      const id: string = (await created.json()).directive.id;
      await gate(h, id);
      const bad = ["x".repeat(2000), "before\u0000after", "half \ud800 a pair"];
      for (const reason of bad) {
        for (const action of ["approve", "reject", "abort"]) {
          const refused = await problemOf(
            await post(`${base}/api/directives/${id}/${action}`, { reason }, BOB.token),
            action === "abort" ? 403 : 400,
          );
          if (action !== "abort") assertStringIncludes(JSON.stringify(refused.errors), "reason");
        }
        const refused = await problemOf(
          await post(`${base}/api/directives/${id}/abort`, { reason }, TOKEN),
          400,
        );
        assertStringIncludes(JSON.stringify(refused.errors), "reason");
      }
      const [row] = await h.sql`SELECT status FROM directives WHERE id = ${id}`;
      assertEquals(row?.status, "proposed");
      const ended = await post(`${base}/api/directives/${id}/abort`, { reason: "clean" }, TOKEN);
      assertEquals((await ended.json()).status, "aborted");
    });
  },
});

Deno.test({
  name: "server: policy what-if needs admin, names a bad candidate's field, and writes nothing",
  ...opts,
  async fn() {
    const ADMIN = await testToken("root", ["admin"]);
    const active = await testPolicy();
    await withApi(
      {
        tokens: [ALICE.entry, ADMIN.entry],
        policy: active,
        moduleOf: (type) => createRegistry(BUILTIN_MODULES).find(type),
      },
      async (base, h) => {
        const created = await post(`${base}/api/directives`, echoDocument(), TOKEN);
        const id: string = (await created.json()).directive.id;
        await gate(h, id);
        const candidate = JSON.parse(await Deno.readTextFile("policies/default.json"));
        candidate.allowed_types = candidate.allowed_types.filter((t: string) => t !== "echo");
        delete candidate.budget_ceilings.echo;
        delete candidate.required_fields.echo;
        const url = `${base}/api/policy/what-if`;
        await problemOf(await post(url, { candidate }, TOKEN), 403);
        const counts = async () =>
          (await h.sql`
            SELECT (SELECT count(*)::int FROM directive_transitions) AS ledger,
                   (SELECT count(*)::int FROM policy_evaluations) AS verdicts`)[0];
        const before = await counts();
        const answer = await post(url, { candidate, days: 1 }, ADMIN.token);
        assertEquals(answer.status, 200);
        const result = await answer.json();
        assertEquals(result.changes.map((c: { directive_id: string }) => c.directive_id), [id]);
        assertEquals(result.changes[0].candidate.verdict, "BLOCK");
        assertEquals(await counts(), before);
        const bad = await problemOf(
          await post(url, { candidate: { ...candidate, max_timebox_seconds: 0 } }, ADMIN.token),
          400,
        );
        assertStringIncludes(JSON.stringify(bad.errors), "max_timebox_seconds");
      },
    );
  },
});
