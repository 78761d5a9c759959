/**
 * The Braintrust evaluation provider against a local server speaking its
 * wire format: the requests it makes, and how it fails on each error answer.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  BraintrustError,
  createBraintrustEvaluator,
  defaultEvaluator,
  type EvaluationInput,
} from "../src/evaluation/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { startLoopHarness } from "./_loop.ts";
import { startBraintrustServer } from "./_braintrust_server.ts";

const KEY = "bt-test-key-0123456789";

function input(): EvaluationInput {
  const now = new Date();
  return {
    directive: {
      id: crypto.randomUUID(),
      type: "echo",
      budget_amount: "5.0000",
      payload: { message: "do not send me" },
    },
    run: {
      id: crypto.randomUUID(),
      status: "completed",
      outcome: "SUCCESS",
      attempt: 1,
      budget_consumed: "0.0000",
      started_at: now,
      finished_at: now,
    },
    artifacts: [],
  } as unknown as EvaluationInput;
}

Deno.test("braintrust: registers the project once, then inserts one event per run", async () => {
  const server = startBraintrustServer(KEY);
  try {
    const evaluator = createBraintrustEvaluator({
      apiKey: KEY,
      apiUrl: server.url,
      project: "keel-tests",
      scorer: defaultEvaluator,
    });
    assertEquals(evaluator.name, "braintrust:keel-default@1");
    const first = input();
    const score = await evaluator.evaluate(first);
    await evaluator.evaluate(input());
    assertEquals(server.requests.map((r) => r.path), [
      "/v1/project",
      `/v1/project_logs/${(server.requests[1]!.path.split("/")[3])}/insert`,
      server.requests[1]!.path,
    ]);
    assert(server.requests.every((r) => r.authorization === `Bearer ${KEY}`));
    assertEquals(server.requests[0]!.body, { name: "keel-tests" });
    const event = (server.requests[1]!.body as { events: Record<string, unknown>[] }).events[0]!;
    assertEquals(event.id, first.run.id);
    assertEquals(event.scores, { keel: score.score, outcome: 1, budget_efficiency: 1 });
    assertEquals(event.input, { directive_id: first.directive.id, type: "echo" });
    assert(!JSON.stringify(server.requests).includes("do not send me"), "the payload stays home");
    assertEquals(score.metadata.braintrust_row_id, first.run.id);
  } finally {
    await server.stop();
  }
});

Deno.test("braintrust: each error answer becomes a BraintrustError with its status", async (t) => {
  const server = startBraintrustServer(KEY);
  try {
    const make = (apiKey: string, timeoutMs = 5_000) =>
      createBraintrustEvaluator({
        apiKey,
        apiUrl: server.url,
        project: "p",
        scorer: defaultEvaluator,
        timeoutMs,
      });
    await t.step("401 for a wrong key, without echoing the key", async () => {
      const error = await assertRejects(() => make("wrong-key").evaluate(input()), BraintrustError);
      assertEquals(error.status, 401);
      assert(!error.message.includes("wrong-key"));
      assert(error.message.includes("Invalid API key"));
    });
    for (const status of [400, 429, 500]) {
      await t.step(`${status}`, async () => {
        server.fail(status);
        const error = await assertRejects(() => make(KEY).evaluate(input()), BraintrustError);
        assertEquals(error.status, status);
        server.fail(undefined);
      });
    }
    await t.step("malformed JSON", async () => {
      server.fail("malformed");
      await assertRejects(() => make(KEY).evaluate(input()), BraintrustError, "malformed JSON");
      server.fail(undefined);
    });
    await t.step("a timeout", async () => {
      server.fail("hang");
      const error = await assertRejects(() => make(KEY, 300).evaluate(input()), BraintrustError);
      assertEquals(error.status, 0);
      server.fail(undefined);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("braintrust in the loop: the score is stored and sent; a refusal changes nothing", async () => {
  const server = startBraintrustServer(KEY);
  const h = await startLoopHarness({
    evaluator: createBraintrustEvaluator({
      apiKey: KEY,
      apiUrl: server.url,
      project: "keel",
      scorer: defaultEvaluator,
    }),
    policy: { auto_approve_types: ["noop", "echo"] },
  });
  try {
    const schema = builtinSchema();
    const ok = await submitAndStart(h.sql, h.target, { document: echoDocument(), schema });
    assertEquals((await waitForLoop(h.client, ok.directive.id)).status, "complete");
    const [row] = await h
      .sql`SELECT evaluator FROM evaluations WHERE directive_id = ${ok.directive.id}`;
    assertEquals(row?.evaluator, "braintrust:keel-default@1");
    assertEquals(server.requests.filter((r) => r.path.endsWith("/insert")).length, 1);

    server.fail(500);
    const refused = await submitAndStart(h.sql, h.target, { document: echoDocument(), schema });
    assertEquals((await waitForLoop(h.client, refused.directive.id)).status, "complete");
    const rows = await h
      .sql`SELECT 1 FROM evaluations WHERE directive_id = ${refused.directive.id}`;
    assertEquals(rows.length, 0);
  } finally {
    await h.stop();
    await server.stop();
  }
});
