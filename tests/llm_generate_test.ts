/**
 * The llm_generate module in the loop, against a local server speaking the
 * Anthropic Messages wire format: the template filled from the payload, the
 * worst case reserved and the actual cost charged, the answer stored; a
 * retryable provider error retried, a refusal failing the run, and bad input
 * refused before any call (the server counts the calls).
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { costOf, priceOf } from "../src/llm/pricing.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { type LoopHarness, runsOf, startLoopHarness } from "./_loop.ts";
import { startWireServer } from "./_wire_server.ts";

const MODEL = "claude-sonnet-4-5";

function message(text: string, input: number, output: number) {
  return {
    json: {
      id: "msg_test",
      type: "message",
      role: "assistant",
      model: MODEL,
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      usage: { input_tokens: input, output_tokens: output },
    },
  };
}

function llmDirective(payload: Record<string, unknown>, budget = "2.00") {
  return echoDocument({
    type: "llm_generate",
    objective: "Summarize the release notes for the operators",
    success_metrics: ["a summary of at most three sentences"],
    budget: { amount: budget, currency: "USD" },
    payload,
  });
}

async function run(h: LoopHarness, document: Record<string, unknown>) {
  const { directive } = await submitAndStart(h.sql, h.target, {
    document,
    schema: builtinSchema(),
  });
  const loop = await waitForLoop(h.client, directive.id);
  const budget = await h.sql<{ status: string; amount: string }[]>`
    SELECT status, amount::text AS amount FROM budget_ledger
     WHERE directive_id = ${directive.id} ORDER BY idempotency_key, version`;
  const artifacts = await h.sql<{ kind: string; body: string }[]>`
    SELECT kind, convert_from(inline_content, 'UTF8') AS body FROM artifacts
     WHERE directive_id = ${directive.id}`;
  return {
    id: directive.id,
    loop,
    runs: await runsOf(h.sql, directive.id),
    budget: [...budget],
    artifacts: [...artifacts],
  };
}

Deno.test({
  name:
    "llm_generate: filled template, reserved and charged, answer stored; provider errors and bad input",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const wire = startWireServer(() => message("Release 2 fixes the login bug.", 120, 30));
    const h = await startLoopHarness({
      policy: {
        auto_approve_types: ["noop", "llm_generate"],
        net_allow: { llm_generate: ["127.0.0.1"] },
      },
      moduleEnv: { ANTHROPIC_API_KEY: "sk-test-key", ANTHROPIC_BASE_URL: wire.url },
    });
    const payload = { prompt: "summarize_v1", audience: "operators", text: "v2: login fixed" };
    try {
      await t.step(
        "the answer is stored; the worst case reserved, the actual cost charged",
        async () => {
          const before = wire.received.length;
          const result = await run(h, llmDirective(payload));
          assertEquals(result.loop.status, "complete");
          assertEquals(wire.received.length - before, 1, "one call to the provider");
          const call = wire.received.at(-1)!;
          assertEquals(call.path, "/v1/messages");
          assertEquals(call.headers["x-api-key"], "sk-test-key");
          const body = call.body as { model: string; messages: { content: string }[] };
          assertEquals(body.model, MODEL);
          assertStringIncludes(body.messages[0]!.content, "for operators in at most three");
          assertStringIncludes(body.messages[0]!.content, "Text:\nv2: login fixed");
          assertEquals(result.artifacts, [{
            kind: "llm_answer",
            body: "Release 2 fixes the login bug.",
          }]);
          const charged = costOf(priceOf(MODEL)!, 120, 30);
          assertEquals(result.budget.map((b) => b.status), ["reserved", "charged"]);
          assertEquals(Number(result.budget[1]!.amount), Number(charged));
          assert(
            Number(result.budget[0]!.amount) > Number(charged),
            "the reservation was the worst case",
          );
          assertEquals(result.runs.map((r) => [r.status, r.outcome]), [["completed", "SUCCESS"]]);
        },
      );

      await t.step(
        "a rate limit is an ERROR: the attempt is retried; only the answered call costs",
        async () => {
          const before = wire.received.length;
          wire.reply({
            status: 429,
            json: { type: "error", error: { type: "rate_limit_error", message: "slow down" } },
          });
          const result = await run(h, llmDirective(payload));
          assertEquals(result.loop.status, "complete");
          assertEquals(wire.received.length - before, 2);
          assertEquals(result.runs.map((r) => [r.attempt, r.outcome]), [[1, "ERROR"], [
            2,
            "SUCCESS",
          ]]);
          assertStringIncludes(result.runs[0]!.message ?? "", "rate_limited");
          // The failed attempt reported spending nothing: charged 0; the second its cost.
          const charges = result.budget.filter((b) => b.status === "charged")
            .map((b) => Number(b.amount));
          assertEquals(charges.sort(), [0, Number(costOf(priceOf(MODEL)!, 120, 30))]);
        },
      );

      await t.step("a refused key is a FAILURE: one call, nothing charged", async () => {
        const before = wire.received.length;
        wire.reply({
          status: 401,
          json: { type: "error", error: { type: "authentication_error", message: "bad key" } },
        });
        const result = await run(h, llmDirective(payload));
        assertEquals(wire.received.length - before, 1);
        assertEquals(result.runs.map((r) => r.outcome), ["FAILURE"]);
        assertStringIncludes(result.runs[0]!.message ?? "", "authentication");
        const charged = result.budget.filter((b) => b.status === "charged");
        assertEquals(charged.map((b) => Number(b.amount)), [0]);
      });

      await t.step("a missing variable or template fails before any call", async () => {
        const before = wire.received.length;
        const missing = await run(h, llmDirective({ prompt: "summarize_v1", text: "x" }));
        assertEquals(missing.runs.map((r) => r.outcome), ["FAILURE"]);
        assertStringIncludes(missing.runs[0]!.message ?? "", "audience");
        const unknown = await run(h, llmDirective({ ...payload, prompt: "nothing_v9" }));
        assertStringIncludes(unknown.runs[0]!.message ?? "", "no template prompts/nothing_v9.md");
        assertEquals(wire.received.length - before, 0, "the provider was never called");
      });

      await t.step("a budget below the worst case refuses the run: nothing starts", async () => {
        const before = wire.received.length;
        const result = await run(h, llmDirective(payload, "0.01"));
        assertEquals(result.loop.status, "aborted");
        assertStringIncludes(result.runs[0]!.message ?? "", "nothing started");
        assertEquals(wire.received.length - before, 0);
      });
    } finally {
      await h.stop();
      await wire.close();
    }
  },
});
