/**
 * One trace per directive, metrics and correlated logs, collected by a real
 * OTLP/HTTP receiver on loopback from a full run: submit → approve → echo →
 * complete, plus three auto-approved noop directives for the metrics.
 */
import { assert, assertEquals } from "@std/assert";
import { trace } from "@opentelemetry/api";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { startTelemetry } from "../src/telemetry/otel.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, startLoopHarness } from "./_loop.ts";
import { metricValue, type ReceivedSpan, renderTree, startOtlpReceiver } from "./_otlp.ts";

const NOOPS = 3;

function childrenOf(spans: readonly ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((s) => s.parentSpanId === parent.spanId);
}

function one(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  assertEquals(found.length, 1, `exactly one "${name}" span; got ${found.length}`);
  return found[0]!;
}

Deno.test("a directive's trace, Keel's metrics and log correlation reach an OTLP receiver", async () => {
  const receiver = startOtlpReceiver();
  const telemetry = startTelemetry({
    endpoint: receiver.endpoint,
    serviceName: "keel-test",
    resourceAttributes: { "deployment.environment.name": "test" },
    sampler: "parentbased_always_on",
    samplerRatio: 1,
    metricIntervalMs: 60_000,
  });
  const lines: string[] = [];
  const h = await startLoopHarness({
    log: createLogger({ level: "info", service: "test-worker", write: (l) => lines.push(l) }),
  });
  const schema = builtinSchema();
  try {
    // The CLI's `keel submit` span, as the root of the directive's trace.
    const { id, traceId } = await trace.getTracer("keel").startActiveSpan(
      "keel submit",
      async (span) => {
        const result = await submitAndStart(h.sql, h.target, {
          document: echoDocument({ payload: { message: "traced" } }),
          schema,
        });
        span.end();
        return { id: result.directive.id, traceId: span.spanContext().traceId };
      },
    );
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    await eventually(
      async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
      "the approval gate",
    );
    await handle.executeUpdate(approveUpdate, {
      args: [{ actor: "reviewer@example.com", reason: "looks right" }],
    });
    assertEquals((await waitForLoop(h.client, id)).status, "complete");
    for (let i = 0; i < NOOPS; i++) {
      const noop = await submitAndStart(h.sql, h.target, {
        document: echoDocument({ type: "noop", budget: { amount: "0.50", currency: "USD" } }),
        schema,
      });
      assertEquals((await waitForLoop(h.client, noop.directive.id)).status, "complete");
    }

    // The workflow span is recorded when the workflow ends; flush until it is in.
    const spans = await eventually(async () => {
      await telemetry.flush();
      const all = receiver.spans().filter((s) => s.traceId === traceId);
      return all.some((s) => s.name === "RunWorkflow:directiveWorkflowV3") ? all : undefined;
    }, "the directive's workflow spans");

    // The tree: submit → start → workflow → activities → SQL.
    const root = one(spans, "keel submit");
    assertEquals(root.parentSpanId, "");
    const start = one(spans, "StartWorkflow:directiveWorkflowV3");
    assertEquals(start.parentSpanId, root.spanId);
    const insert = childrenOf(spans, root).find((s) => s.name === "INSERT directives");
    assert(insert, "the submit's INSERT is a child of the submit span");
    const loop = one(spans, "RunWorkflow:directiveWorkflowV3");
    assertEquals(loop.parentSpanId, start.spanId);
    // One workflow: the policy step is a local activity of the loop, the
    // module's run an activity of it, evaluation and completion one local activity.
    const underLoop = (span: { parentSpanId: string }) =>
      span.parentSpanId === loop.spanId ||
      childrenOf(spans, loop).some((s) => s.spanId === span.parentSpanId);
    const policy = one(spans, "RunActivity:admitDirective");
    assert(underLoop(policy), "the policy step is under the loop");
    assertEquals(policy.attributes["keel.directive.id"], id);
    assertEquals(policy.attributes["keel.policy.verdict"], "ALLOW");
    const run = one(spans, "RunActivity:executeRun");
    assert(underLoop(run), "the module's run is under the loop");
    assertEquals(run.attributes["keel.module"], "echo");
    assert(typeof run.attributes["keel.run.id"] === "string");
    const evaluate = one(spans, "RunActivity:concludeDirective");
    const scored = evaluate.events.find((e) => e.name === "keel.evaluation");
    assert(scored, "the score is an event on the evaluation span");
    assertEquals(scored.attributes["keel.evaluator"], "keel-default@1");

    const sqlSpans = childrenOf(spans, run);
    assert(sqlSpans.length >= 2, `SQL spans under executeRun: ${sqlSpans.length}`);
    for (const s of spans.filter((s) => s.attributes["db.system.name"] !== undefined)) {
      assertEquals(s.attributes["db.system.name"], "postgresql");
      assert(typeof s.attributes["db.operation.name"] === "string");
      const text = String(s.attributes["db.query.text"]);
      assert(!text.includes("traced") && !text.includes(id), `a value leaked into ${text}`);
    }
    // The directive keeps its trace id, so people can go from it to the trace.
    const [stored] = await h.sql`SELECT trace_id FROM directives WHERE id = ${id}`;
    assertEquals(stored?.trace_id, traceId);
    const tree = renderTree(spans, traceId);
    console.log(`span tree of directive ${id}:\n${tree}`);

    // Metrics after 1 echo + 3 noop directives.
    await telemetry.flush();
    const points = receiver.points();
    const metrics = {
      complete: metricValue(points, "keel_directives_total", { status: "complete" }),
      allow: metricValue(points, "keel_policy_evaluations_total", { verdict: "ALLOW" }),
      echo: metricValue(points, "keel_module_executions_total", {
        module: "echo",
        status: "completed",
      }),
      noop: metricValue(points, "keel_module_executions_total", {
        module: "noop",
        status: "completed",
      }),
      noopDurations: metricValue(points, "keel_execution_duration_seconds", { type: "noop" }),
      policyDurations: metricValue(points, "keel_policy_evaluation_duration_seconds"),
      approvalWaits: metricValue(points, "keel_approval_wait_seconds", { decision: "approved" }),
    };
    console.log(`metrics after ${NOOPS + 1} directives: ${JSON.stringify(metrics)}`);
    assertEquals(metrics, {
      complete: NOOPS + 1,
      allow: NOOPS + 1,
      echo: 1,
      noop: NOOPS,
      noopDurations: NOOPS,
      policyDurations: NOOPS + 1,
      approvalWaits: 1,
    });

    // Logs written inside the directive's activities carry its trace and a span of it.
    const ids = new Set(spans.map((s) => s.spanId));
    const correlated = lines.map((l) => JSON.parse(l)).filter((l) => l.directive_id === id);
    assert(correlated.length >= 2, `log lines about the directive: ${correlated.length}`);
    for (const line of correlated) {
      assertEquals(line.trace_id, traceId, JSON.stringify(line));
      assert(ids.has(line.span_id), `span ${line.span_id} of "${line.message}" was exported`);
    }
  } finally {
    await h.stop();
    await telemetry.shutdown();
    await receiver.stop();
  }
});

Deno.test("with no endpoint nothing is exported and the loop runs", async () => {
  const receiver = startOtlpReceiver();
  const telemetry = startTelemetry({
    serviceName: "keel-test",
    resourceAttributes: {},
    sampler: "parentbased_always_on",
    samplerRatio: 1,
    metricIntervalMs: 1000,
  });
  assertEquals(telemetry.enabled, false);
  const lines: string[] = [];
  const h = await startLoopHarness({
    log: createLogger({ level: "info", service: "test-worker", write: (l) => lines.push(l) }),
  });
  try {
    const noop = await submitAndStart(h.sql, h.target, {
      document: echoDocument({ type: "noop", budget: { amount: "0.50", currency: "USD" } }),
      schema: builtinSchema(),
    });
    assertEquals((await waitForLoop(h.client, noop.directive.id)).status, "complete");
    assertEquals(noop.directive.trace_id, null);
    await telemetry.flush();
    assertEquals(receiver.bodies.length, 0);
    assert(lines.length > 0);
    assert(lines.every((l) => !("trace_id" in JSON.parse(l))), "no trace ids without tracing");
  } finally {
    await h.stop();
    await telemetry.shutdown();
    await receiver.stop();
  }
});
