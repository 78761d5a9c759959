/**
 * The HTTP API's guards, in-process over the real Postgres and a real
 * Temporal dev server: scopes per route, the Host allow-list, security
 * headers, a body limit enforced while streaming, cursor pagination, errors
 * answered 4xx instead of 500, and internal errors answered by id only.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import type { Scope } from "../src/auth/principal.ts";
import { connect } from "../src/db/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { startLoop, waitForLoop } from "../src/loop/mod.ts";
import { createFsStore, DEFAULT_ARTIFACT_MAX_BYTES, sha256Hex } from "../src/artifacts/mod.ts";
import { createHandler } from "../src/server/app.ts";
import { STATS_NAMES } from "../src/server/overview_routes.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { get, post, problemOf, testToken, withApi } from "./_api.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const ALL: Scope[] = ["read", "submit", "approve", "abort", "score"];
const tokens = await Promise.all([
  testToken("reader", ["read"]),
  testToken("submitter", ["submit"]),
  testToken("approver", ["approve"]),
  testToken("aborter", ["abort"]),
  testToken("scorer", ["score"]),
  testToken("admin", ["admin"]),
]);
const bySCope = Object.fromEntries(tokens.map((t) => [[...t.entry.scopes][0], t.token]));
const entries = tokens.map((t) => t.entry);

/** One raw HTTP/1.1 exchange, so the Host header and the body framing are ours. */
async function raw(port: number, head: string, chunks: Uint8Array[] = []) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const answer = (async () => {
    const buf = new Uint8Array(8192);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0));
  })();
  let answered = false;
  void answer.then(() => answered = true, () => answered = true);
  await conn.write(new TextEncoder().encode(head));
  let sent = 0;
  for (const chunk of chunks) {
    if (answered) break;
    try {
      await conn.write(chunk);
    } catch {
      break; // the server closed the connection after answering
    }
    sent++;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const text = await answer;
  conn.close();
  return { text, sent };
}

Deno.test({
  name: "server: every /api route needs its scope: 401 without a token, 403 naming the scope",
  ...opts,
  async fn() {
    await withApi({ tokens: entries }, async (base) => {
      const id = crypto.randomUUID();
      const routes: [string, string, unknown, Scope][] = [
        ["GET", "/api/directives", undefined, "read"],
        ["GET", `/api/directives/${id}`, undefined, "read"],
        ["GET", `/api/directives/${id}/artifacts/${crypto.randomUUID()}`, undefined, "read"],
        ["GET", `/api/directives/${id}/payload`, undefined, "read"],
        ["GET", "/api/inbox", undefined, "read"],
        ["GET", "/api/memory/search?q=x", undefined, "read"],
        ["GET", `/api/directives/${id}/deliveries`, undefined, "read"],
        ...STATS_NAMES.map((name): [string, string, unknown, Scope] => [
          "GET",
          `/api/stats/${name}`,
          undefined,
          "read",
        ]),
        ["POST", "/api/directives", echoDocument({ objective: 7 }), "submit"],
        ["POST", `/api/directives/${id}/approve`, { reason: "r" }, "approve"],
        ["POST", `/api/directives/${id}/reject`, { reason: "r" }, "approve"],
        ["POST", `/api/directives/${id}/abort`, { reason: "r" }, "abort"],
        ["POST", `/api/directives/${id}/scores`, { score: 0.5 }, "score"],
      ];
      for (const [method, path, body, scope] of routes) {
        const send = (token?: string) =>
          method === "GET" ? get(`${base}${path}`, token) : post(`${base}${path}`, body, token);
        await problemOf(await send(), 401);
        await problemOf(await send("not-a-token"), 401);
        const other = ALL.find((s) => s !== scope)!;
        const refused = await problemOf(await send(bySCope[other]), 403);
        assertEquals(refused.scope, scope, `${method} ${path}`);
        assertStringIncludes(String(refused.detail), `"${scope}"`);
        for (const token of [bySCope[scope], bySCope.admin]) {
          const allowed = await send(token);
          assert(![401, 403].includes(allowed.status), `${method} ${path}: ${allowed.status}`);
          await allowed.body?.cancel();
        }
      }
      for (const open of ["/healthz", "/openapi.json", "/", "/dashboard/app.js", "/api/config"]) {
        const answer = await get(`${base}${open}`);
        assertEquals(answer.status, 200, open);
        await answer.body?.cancel();
      }
    }, { noWorker: true });
  },
});

Deno.test({
  name: "server: a foreign Host is refused; every answer carries CSP, nosniff and no-referrer",
  ...opts,
  async fn() {
    await withApi({ tokens: entries }, async (base) => {
      const port = Number(new URL(base).port);
      const foreign = await raw(
        port,
        `GET /healthz HTTP/1.1\r\nHost: rebound.example:${port}\r\nConnection: close\r\n\r\n`,
      );
      assert(foreign.text.startsWith("HTTP/1.1 421"), foreign.text);
      const local = await raw(
        port,
        `GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`,
      );
      assert(local.text.startsWith("HTTP/1.1 200"), local.text);
      for (const path of ["/", "/dashboard/app.js", "/api/directives"]) {
        const answer = await get(`${base}${path}`);
        const csp = answer.headers.get("content-security-policy") ?? "";
        assertStringIncludes(csp, "script-src 'self'");
        assertStringIncludes(csp, "frame-ancestors 'none'");
        assert(!csp.includes("unsafe-inline"), csp);
        assertEquals(answer.headers.get("x-content-type-options"), "nosniff");
        assertEquals(answer.headers.get("referrer-policy"), "no-referrer");
        await answer.body?.cancel();
      }
      const html = await Deno.readTextFile("src/server/dashboard/index.html");
      assert(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), "no inline script");
      assert(!/<style|\sstyle=/.test(html), "no inline style");
    }, { noWorker: true });
    await withApi({ tokens: entries, allowedHosts: ["keel.internal:8443"] }, async (base) => {
      await problemOf(await get(`${base}/healthz`), 421);
    }, { noWorker: true });
  },
});

Deno.test({
  name: "server: a chunked body over the limit answers 413 before it is all sent",
  ...opts,
  async fn() {
    await withApi({ tokens: entries, maxBodyBytes: 4096 }, async (base, h) => {
      const port = Number(new URL(base).port);
      const kib = `400\r\n${"x".repeat(1024)}\r\n`;
      const chunks = Array.from({ length: 256 }, () => new TextEncoder().encode(kib));
      const { text, sent } = await raw(
        port,
        `POST /api/directives HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
          `Authorization: Bearer ${bySCope.submit}\r\nContent-Type: application/json\r\n` +
          `Transfer-Encoding: chunked\r\n\r\n`,
        chunks,
      );
      assert(text.startsWith("HTTP/1.1 413"), text);
      assert(sent < chunks.length, `the answer came after all ${sent} KiB were sent`);
      const [count] = await h.sql`SELECT count(*)::int AS n FROM directives`;
      assertEquals(count?.n, 0);
    }, { noWorker: true });
  },
});

Deno.test({
  name: "server: cursor pagination walks every directive exactly once in bounded pages",
  ...opts,
  async fn() {
    await withApi({ tokens: entries }, async (base, h) => {
      const ids = new Set<string>();
      for (let i = 0; i < 23; i++) {
        const { directive } = await submitDirective(h.sql, echoDocument(), {
          schema: builtinSchema(),
        });
        ids.add(directive.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `${base}/api/directives?limit=5${cursor ? `&cursor=${cursor}` : ""}`;
        const page = await (await get(url, bySCope.read)).json();
        assert(page.items.length <= 5);
        seen.push(...page.items.map((d: { id: string }) => d.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor !== null && pages < 10);
      assertEquals(pages, 5);
      assertEquals(seen.length, 23);
      assertEquals(new Set(seen), ids);
      const offset = await problemOf(
        await get(`${base}/api/directives?offset=5`, bySCope.read),
        400,
      );
      assertStringIncludes(String(offset.detail), "next_cursor");
      await problemOf(await get(`${base}/api/directives?limit=201`, bySCope.read), 400);
      await problemOf(await get(`${base}/api/directives?cursor=bm9wZQ`, bySCope.read), 400);
    }, { noWorker: true });
  },
});

Deno.test({
  name: "server: conflicts and bad text answer 409/400 naming the field, not 500",
  ...opts,
  async fn() {
    const admin = bySCope.admin!;
    await withApi({ tokens: entries }, async (base, h) => {
      const blocked = await post(
        `${base}/api/directives`,
        echoDocument({ scope: ["production"] }),
        admin,
      );
      const blockedId: string = (await blocked.json()).directive.id;
      assertEquals((await waitForLoop(h.client, blockedId)).status, "blocked");
      for (const action of ["approve", "reject"]) {
        const refused = await problemOf(
          await post(`${base}/api/directives/${blockedId}/${action}`, { reason: "x" }, admin),
          409,
        );
        assertStringIncludes(String(refused.detail), `is "blocked", not awaiting approval`);
      }
      await problemOf(
        await post(`${base}/api/directives/${blockedId}/abort`, { reason: "x" }, admin),
        409,
      );
      const created = await post(`${base}/api/directives`, echoDocument(), admin);
      const id: string = (await created.json()).directive.id;
      const rejected = await post(`${base}/api/directives/${id}/reject`, { reason: "no" }, admin);
      assertEquals(rejected.status, 200, await rejected.clone().text());
      await rejected.body?.cancel();
      await waitForLoop(h.client, id);
      await problemOf(
        await post(`${base}/api/directives/${id}/approve`, { reason: "yes" }, admin),
        409,
      );
      for (const note of ["a\u0000b", "lone \ud800 surrogate"]) {
        const bad = await problemOf(
          await post(`${base}/api/directives/${id}/scores`, { score: 0.5, note }, admin),
          400,
        );
        assertStringIncludes(JSON.stringify(bad.errors), "note");
      }
      const nul = await problemOf(await get(`${base}/api/directives?type=%00`, admin), 400);
      assertStringIncludes(JSON.stringify(nul.errors), "type");
      const reason = await problemOf(
        await post(`${base}/api/directives/${id}/abort`, { reason: "x\u0000" }, admin),
        400,
      );
      assertStringIncludes(JSON.stringify(reason.errors), "reason");
    });
  },
});

Deno.test({
  name: "server: an internal error answers only an id, which the JSON log line carries",
  ...opts,
  async fn() {
    await withApi({ tokens: entries }, async (_base, h) => {
      const lines: string[] = [];
      const closed = connect(h.db.appUrl, { max: 1 });
      await closed.end();
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        createHandler({
          sql: closed,
          target: h.target,
          schema: builtinSchema(),
          tokens: entries,
          maxBodyBytes: 4096,
          log: createLogger({ level: "info", service: "test", write: (l) => lines.push(l) }),
        }),
      );
      try {
        const answer = await get(
          `http://127.0.0.1:${server.addr.port}/api/directives`,
          bySCope.read,
        );
        const body = await problemOf(answer, 500);
        const errorId = String(body.error_id);
        assert(/^[0-9a-f-]{36}$/.test(errorId), errorId);
        assertEquals(Object.keys(body).sort(), ["detail", "error_id", "status", "type"]);
        assertEquals(body.detail, `internal error ${errorId}`);
        const logged = lines.map((l) => JSON.parse(l)).find((l) => l.error_id === errorId);
        assert(logged, lines.join("\n"));
        assert(String(logged.error?.message ?? "").length > 0, JSON.stringify(logged));
      } finally {
        await server.shutdown();
      }
    }, { noWorker: true });
  },
});

Deno.test({
  name: "server: a large stored artifact streams verified; a corrupted one never completes",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "keel-artifacts-" });
    const artifacts = { store: createFsStore({ dir }), maxBytes: DEFAULT_ARTIFACT_MAX_BYTES };
    const read = bySCope.read!;
    const lines: string[] = [];
    const log = createLogger({ level: "info", service: "test", write: (l) => lines.push(l) });
    await withApi({ tokens: entries, log }, async (base, h) => {
      const created = await post(
        `${base}/api/directives`,
        echoDocument({ payload: { message: "big", text: "x".repeat(1000), repeat: 3000 } }),
        bySCope.submit,
      );
      const id: string = (await created.json()).directive.id;
      assertEquals((await waitForLoop(h.client, id)).status, "complete");
      const detail = await (await get(`${base}/api/directives/${id}`, read)).json();
      const artifact = detail.artifacts[0];
      assert(Number(artifact.size_bytes) > 1_000_000, artifact.size_bytes);
      const url = `${base}/api/directives/${id}/artifacts/${artifact.id}`;
      const body = new Uint8Array(await (await get(url, read)).arrayBuffer());
      assertEquals(body.length, Number(artifact.size_bytes));
      assertEquals(await sha256Hex(body), artifact.sha256);

      const path = `${dir}/sha256/${artifact.sha256.slice(0, 2)}/${artifact.sha256}`;
      await Deno.chmod(path, 0o644);
      const file = await Deno.open(path, { write: true });
      await file.write(new TextEncoder().encode("corrupt"));
      file.close();
      const corrupt = await get(url, read);
      assertEquals(corrupt.status, 200, "the head is sent before the body is read");
      let completed = true;
      try {
        await corrupt.arrayBuffer();
      } catch {
        completed = false;
      }
      assertEquals(completed, false, "a corrupt body must not arrive whole");
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.artifact_id === artifact.id);
      assertStringIncludes(String(logged?.error?.message), "is corrupt");
    }, { artifacts, policy: { auto_approve_types: ["echo"] } });
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "server: a request over its timeout answers 503 and is abandoned",
  ...opts,
  async fn() {
    const lines: string[] = [];
    const log = createLogger({ level: "info", service: "test", write: (l) => lines.push(l) });
    await withApi({ tokens: entries, requestTimeoutMs: 300, log }, async (base, h) => {
      const { directive } = await submitDirective(h.sql, echoDocument(), {
        schema: builtinSchema(),
      });
      await startLoop(h.target, directive.id);
      // No worker runs: the loop cannot answer, so the decision outlives the request.
      const late = await problemOf(
        await post(
          `${base}/api/directives/${directive.id}/approve`,
          { reason: "x" },
          bySCope.admin,
        ),
        503,
      );
      assertStringIncludes(String(late.detail), "abandoned");
      assert(lines.some((l) => JSON.parse(l).timeout_ms === 300), lines.join("\n"));
    }, { noWorker: true });
  },
});
