/**
 * Agents over MCP, with the SDK's own client on both transports: a whole
 * governed session (propose, a person approves, wait, read the artifact), a
 * bad document (every field error, nothing stored), and an agent token that
 * tries every route to approve (all refused).
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { encodeHex } from "../src/auth/_hex.ts";
import { AGENT_TOOLS } from "../src/mcp/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { post, testToken, withApi } from "./_api.ts";
import { counts, echoDocument } from "./_directives.ts";
import { testPolicy } from "./_loop.ts";
import { call, Client, httpClient, StdioClientTransport, transcript } from "./_mcp.ts";

const MCP = {
  moduleTypes: createRegistry(BUILTIN_MODULES).types(),
  examplesDir: new URL("../examples/directives/", import.meta.url),
};

/** A raw HTTP/1.1 POST with our own Host header; answers the response's head and start. */
async function rawPost(
  base: URL,
  host: string,
  headers: Record<string, string>,
  body: string,
): Promise<string> {
  const conn = await Deno.connect({ hostname: base.hostname, port: Number(base.port) });
  try {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    const bytes = new TextEncoder().encode(body);
    await conn.write(new TextEncoder().encode(
      `POST /mcp HTTP/1.1\r\nhost: ${host}\r\n${lines}content-length: ${bytes.length}\r\n` +
        `connection: close\r\n\r\n${body}`,
    ));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

/** Follows a directive with `wait_for_directive` until it ends (at most ten waits). */
async function followToEnd(client: Client, id: string): Promise<string> {
  let status = "";
  for (let i = 0; i < 10; i++) {
    const waited = await call(client, "wait_for_directive", { id, timeout_seconds: 10 });
    assertEquals(waited.isError, false, JSON.stringify(waited.body));
    status = waited.body.status as string;
    if (waited.body.ended === true) return status;
  }
  return status;
}

/** Proposes an echo directive as the client's agent, a person approves it, the agent reads the artifact. */
async function governedSession(client: Client, base: string, approverToken: string) {
  const payload = { message: `from an agent ${crypto.randomUUID()}` };
  const proposed = await call(client, "propose_directive", {
    directive: echoDocument({ payload, issued_by: "planner-7" }),
  });
  assertEquals(proposed.isError, false, JSON.stringify(proposed.body));
  assertEquals(proposed.body.verdict, "ALLOW");
  assertEquals(proposed.body.submitted_by, "agent-1");
  assertEquals(proposed.body.status, "proposed");
  const id = proposed.body.id as string;
  // Nothing moves until a person decides.
  const idle = await call(client, "wait_for_directive", { id, timeout_seconds: 1 });
  assertEquals([idle.body.status, idle.body.changed], ["proposed", false]);
  const approved = await post(
    `${base}/api/directives/${id}/approve`,
    { reason: "payload checked" },
    approverToken,
  );
  assertEquals(approved.status, 200, await approved.text());
  assertEquals(await followToEnd(client, id), "complete");
  const detail = await call(client, "get_directive", { id });
  const artifacts = detail.body.artifacts as { id: string; sha256: string; kind: string }[];
  const echo = artifacts.find((a) => a.kind === "echo");
  assert(echo, JSON.stringify(artifacts));
  const read = await call(client, "get_artifact", { directive_id: id, artifact_id: echo.id });
  assertEquals(read.isError, false, JSON.stringify(read.body));
  const text = read.body.text as string;
  assertEquals(JSON.parse(text), payload);
  // The body the agent got hashes to what the ledger recorded.
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  assertEquals(encodeHex(new Uint8Array(digest)), echo.sha256);
  const mine = await call(client, "list_my_directives", {});
  assert((mine.body.items as { id: string }[]).some((d) => d.id === id));
  return id;
}

Deno.test("MCP over HTTP: a governed session, bad input, and no route to approve", async (t) => {
  const agent = await testToken("agent-1", ["read", "submit"]);
  const other = await testToken("agent-2", ["read", "submit"]);
  const approver = await testToken("alice", ["read", "approve"]);
  const policy = await testPolicy();
  await withApi({ tokens: [agent.entry, other.entry, approver.entry], mcp: MCP, policy }, async (
    base,
    h,
  ) => {
    const client = await httpClient(base, agent.token);
    try {
      await t.step("the tools are the agent's, with the contract as propose's input", async () => {
        const { tools } = await client.listTools();
        assertEquals(tools.map((tool) => tool.name).sort(), [...AGENT_TOOLS].sort());
        const propose = tools.find((tool) => tool.name === "propose_directive");
        const directive = (propose?.inputSchema.properties as Record<string, unknown>)
          .directive as { properties: Record<string, unknown>; required: string[] };
        assert("objective" in directive.properties && "budget" in directive.properties);
        assert(directive.required.includes("idempotency_key"));
      });

      await t.step("resources: the schema, the active policy, the examples", async () => {
        const { resources } = await client.listResources();
        const uris = resources.map((r) => r.uri);
        assert(uris.includes("keel://schema/directive") && uris.includes("keel://policy/active"));
        assert(uris.includes("keel://examples/noop.json"), uris.join(", "));
        const policyText = await client.readResource({ uri: "keel://policy/active" });
        const first = policyText.contents[0] as { text: string };
        assertEquals(JSON.parse(first.text).name, policy.name);
      });

      await t.step("propose, approve by a person, wait, read the artifact", async () => {
        transcript.length = 0;
        await governedSession(client, base, approver.token);
        // The session as docs/mcp.md shows it.
        console.log(transcript.map((line) => line.slice(0, 400)).join("\n"));
      });

      await t.step("a bad document answers every field error and stores nothing", async () => {
        const before = await counts(h.sql);
        const bad = await call(client, "propose_directive", {
          directive: { type: "no_such_module", objective: "", budget: "lots" },
        });
        assertEquals(bad.isError, true);
        const paths = (bad.body.errors as { path: string }[]).map((e) => e.path);
        for (const field of ["type", "objective", "budget", "issued_by", "idempotency_key"]) {
          assert(paths.includes(field), `${field} missing from ${paths.join(", ")}`);
        }
        assertEquals(await counts(h.sql), before);
      });

      await t.step(
        "an agent token cannot approve, reject, score or abort others' work",
        async () => {
          const theirs = await call(await httpClient(base, other.token), "propose_directive", {
            directive: echoDocument(),
          });
          const id = theirs.body.id as string;
          for (const action of ["approve", "reject", "abort", "scores"]) {
            const body = action === "scores" ? { score: 1 } : { reason: "I approve of myself" };
            const answer = await post(`${base}/api/directives/${id}/${action}`, body, agent.token);
            assertEquals(answer.status, 403, `${action}: ${await answer.text()}`);
          }
          for (const name of ["approve_directive", "reject_directive", "score_directive"]) {
            const tried = await client.callTool({ name, arguments: { id } }).then(
              (r) => r.isError === true,
              () => true,
            );
            assert(tried, `${name} was not refused`);
          }
          const abort = await call(client, "abort_my_directive", { id, reason: "not mine" });
          assertEquals(abort.isError, true);
          assert(String(abort.body.error).includes('lacks the scope "abort"'));
          const [row] = await h.sql`SELECT status,
          (SELECT count(*)::int FROM approvals WHERE directive_id = ${id}) AS approvals
          FROM directives WHERE id = ${id}`;
          assertEquals([row?.status, row?.approvals], ["proposed", 0]);
        },
      );

      await t.step(
        "an agent aborts its own directive; the abort is signed and recorded",
        async () => {
          const mine = await call(client, "propose_directive", { directive: echoDocument() });
          const id = mine.body.id as string;
          const aborted = await call(client, "abort_my_directive", { id, reason: "plan changed" });
          assertEquals(aborted.isError, false, JSON.stringify(aborted.body));
          assertEquals(await followToEnd(client, id), "aborted");
          const [row] = await h.sql`SELECT actor FROM directive_transitions
          WHERE directive_id = ${id} AND to_status = 'aborted'`;
          assertEquals(row?.actor, "agent-1");
        },
      );

      await t.step("no token, another Host, another Origin: refused", async () => {
        const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });
        const headers = {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        };
        const anonymous = await fetch(`${base}/mcp`, { method: "POST", headers, body });
        assertEquals(anonymous.status, 401, await anonymous.text());
        const auth = { ...headers, authorization: `Bearer ${agent.token}` };
        const foreign = await fetch(`${base}/mcp`, {
          method: "POST",
          headers: { ...auth, origin: "http://evil.example" },
          body,
        });
        assertEquals(foreign.status, 403, await foreign.text());
        // fetch keeps its own Host header: a raw request names another host,
        // as a page served by a rebinding DNS name would.
        const rebound = await rawPost(new URL(base), "evil.example", auth, body);
        assert(rebound.startsWith("HTTP/1.1 421"), rebound.slice(0, 200));
      });
    } finally {
      await client.close();
    }
  });
});

Deno.test("MCP over stdio: `deno task mcp` bridges an agent host to /mcp with only its token", async (t) => {
  const agent = await testToken("agent-1", ["read", "submit"]);
  const approver = await testToken("alice", ["read", "approve"]);
  await withApi({ tokens: [agent.entry, approver.entry], mcp: MCP }, async (base) => {
    const bridge = (token: string) =>
      new StdioClientTransport({
        command: Deno.execPath(),
        args: ["run", "--quiet", "-P=mcp", "src/cli/mcp.ts"],
        env: { KEEL_MCP_URL: `${base}/mcp`, KEEL_MCP_TOKEN: token },
        stderr: "pipe",
      });
    await t.step("a whole session through the bridge", async () => {
      const client = new Client({ name: "stdio-agent", version: "1.0.0" });
      await client.connect(bridge(agent.token));
      try {
        await governedSession(client, base, approver.token);
      } finally {
        await client.close();
      }
    });
    await t.step("a wrong token fails the handshake, it does not hang", async () => {
      const client = new Client({ name: "stdio-agent", version: "1.0.0" });
      await assertRejects(() => client.connect(bridge("keel_not-a-configured-token")));
      await client.close();
    });
  });
});
