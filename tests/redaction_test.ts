/**
 * Secrets, tokens and payload bodies never reach telemetry: a fake secret is
 * planted in a directive's payload and in the Braintrust provider's key, the
 * directive runs to completion, and every exported span, metric and log line
 * is searched for either.
 */
import { assert, assertEquals } from "@std/assert";
import { trace } from "@opentelemetry/api";
import { createBraintrustEvaluator, defaultEvaluator } from "../src/evaluation/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { startTelemetry } from "../src/telemetry/otel.ts";
import { approveUpdate, directiveWorkflowId } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, startLoopHarness } from "./_loop.ts";
import { startBraintrustServer } from "./_braintrust_server.ts";
import { startOtlpReceiver } from "./_otlp.ts";

const PAYLOAD_SECRET = `payload-secret-${crypto.randomUUID()}`;
const PROVIDER_SECRET = `bt-key-secret-${crypto.randomUUID()}`;

Deno.test("no secret or payload body reaches spans, metrics or logs", async () => {
  const receiver = startOtlpReceiver();
  const braintrust = startBraintrustServer(PROVIDER_SECRET);
  const telemetry = startTelemetry({
    endpoint: receiver.endpoint,
    serviceName: "keel-redaction",
    resourceAttributes: {},
    sampler: "always_on",
    samplerRatio: 1,
    metricIntervalMs: 60_000,
  });
  const lines: string[] = [];
  const h = await startLoopHarness({
    evaluator: createBraintrustEvaluator({
      apiKey: PROVIDER_SECRET,
      apiUrl: braintrust.url,
      project: "keel",
      scorer: defaultEvaluator,
    }),
    log: createLogger({ level: "debug", service: "test-worker", write: (l) => lines.push(l) }),
  });
  try {
    const id = await trace.getTracer("keel").startActiveSpan("keel submit", async (span) => {
      const result = await submitAndStart(h.sql, h.target, {
        document: echoDocument({ payload: { message: PAYLOAD_SECRET, token: PAYLOAD_SECRET } }),
        schema: builtinSchema(),
      });
      span.end();
      return result.directive.id;
    });
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    await eventually(async () => {
      try {
        await handle.executeUpdate(approveUpdate, { args: [{ actor: "rev", reason: "ok" }] });
        return true;
      } catch {
        return false;
      }
    }, "the approval");
    assertEquals((await waitForLoop(h.client, id)).status, "complete");
    // The payload really went through the loop: the echo artifact holds it.
    const [artifact] = await h.sql`SELECT inline_content FROM artifacts WHERE directive_id = ${id}`;
    assert(new TextDecoder().decode(artifact?.inline_content).includes(PAYLOAD_SECRET));
    assert(braintrust.requests.some((r) => r.path.endsWith("/insert")), "Braintrust was called");

    await eventually(async () => {
      await telemetry.flush();
      return receiver.spans().some((s) => s.name === "RunWorkflow:directiveWorkflowV3");
    }, "the exported trace");
    const exported = receiver.bodies.join("\n");
    const logged = lines.join("\n");
    const hits = {
      spansAndMetrics: [PAYLOAD_SECRET, PROVIDER_SECRET].filter((s) => exported.includes(s)).length,
      logs: [PAYLOAD_SECRET, PROVIDER_SECRET].filter((s) => logged.includes(s)).length,
    };
    console.log(
      `redaction: searched ${receiver.bodies.length} OTLP bodies (${exported.length} bytes, ${receiver.spans().length} spans, ${receiver.points().length} metric points) and ${lines.length} log lines (${logged.length} bytes) for 2 planted secrets: ${hits.spansAndMetrics} hits in telemetry, ${hits.logs} in logs`,
    );
    // The loop's own lines were written and searched (the policy's verdict, the run's ending).
    assert(
      receiver.spans().length > 20 && lines.some((l) => l.includes('"run ended"')) &&
        lines.some((l) => l.includes('"policy evaluated"')),
      "there was telemetry to search",
    );
    assertEquals(hits, { spansAndMetrics: 0, logs: 0 });
  } finally {
    await h.stop();
    await telemetry.shutdown();
    await receiver.stop();
    await braintrust.stop();
  }
});
