/**
 * Evaluation observes and never decides: a throwing or hanging evaluator
 * leaves the directive's outcome as it was, and a score may arrive later,
 * through the CLI, linked to the same directive.
 */
import { assert, assertEquals } from "@std/assert";
import type { Evaluator } from "../src/evaluation/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { type LoopHarness, runsOf, startLoopHarness } from "./_loop.ts";
import { startOtlpReceiver } from "./_otlp.ts";

async function runEcho(h: LoopHarness) {
  const result = await submitAndStart(h.sql, h.target, {
    document: echoDocument(),
    schema: builtinSchema(),
  });
  const id = result.directive.id;
  return { id, loop: await waitForLoop(h.client, id) };
}

const failing: Record<string, Evaluator> = {
  throwing: {
    name: "throws@1",
    evaluate: () => Promise.reject(new Error("scorer crashed")),
  },
  hanging: {
    name: "hangs@1",
    evaluate: () => new Promise(() => {}),
  },
};

for (const [kind, evaluator] of Object.entries(failing)) {
  Deno.test(`a ${kind} evaluator does not change the directive's outcome`, async () => {
    const lines: string[] = [];
    const h = await startLoopHarness({
      evaluator,
      evaluationTimeoutMs: 500,
      policy: { auto_approve_types: ["noop", "echo"] },
      log: createLogger({ level: "warn", service: "test-worker", write: (l) => lines.push(l) }),
    });
    try {
      const { id, loop } = await runEcho(h);
      assertEquals(loop.status, "complete");
      assertEquals((await runsOf(h.sql, id)).map((r) => r.status), ["completed"]);
      const scores = await h.sql`SELECT 1 FROM evaluations WHERE directive_id = ${id}`;
      assertEquals(scores.length, 0);
      const abandoned = lines.map((l) => JSON.parse(l)).find((l) =>
        l.message === "evaluation abandoned" && l.directive_id === id
      );
      assert(abandoned, "the abandoned evaluation is logged");
      assertEquals(abandoned.evaluator, evaluator.name);
    } finally {
      await h.stop();
    }
  });
}

async function keelScore(h: LoopHarness, args: string[], otlp?: string) {
  const env: Record<string, string> = { NO_COLOR: "1", DATABASE_URL: h.db.appUrl };
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  if (otlp) env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=cli", "src/cli/keel.ts", "score", ...args],
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("a late score arrives through the CLI, linked to the directive, traced", async () => {
  const receiver = startOtlpReceiver();
  const h = await startLoopHarness({ policy: { auto_approve_types: ["noop", "echo"] } });
  try {
    const { id, loop } = await runEcho(h);
    assertEquals(loop.status, "complete");
    const scored = await keelScore(h, [
      id,
      "--score",
      "0.7",
      "--dimension",
      "clarity=0.5",
      "--note",
      "reviewed",
    ], receiver.endpoint);
    assertEquals(scored.code, 0, scored.stderr);
    assertEquals(scored.stdout.trim(), `scored directive ${id}: 0.7 by human:cli`);
    const rows = await h.sql`
      SELECT evaluator, score, run_id, dimensions, metadata FROM evaluations
       WHERE directive_id = ${id} ORDER BY created_at`;
    assertEquals(rows.length, 2);
    assertEquals(rows[1]?.evaluator, "human:cli");
    assertEquals(rows[1]?.run_id, null);
    assertEquals(rows[1]?.dimensions, { clarity: 0.5 });
    assertEquals(rows[1]?.metadata, { late: true, note: "reviewed" });
    const span = receiver.spans().find((s) => s.name === "keel score");
    assert(span, "the CLI exported its span");
    assertEquals(span.service, "keel-cli");
    const event = span.events.find((e) => e.name === "keel.evaluation");
    assertEquals(event?.attributes["keel.directive.id"], id);
    assertEquals(event?.attributes["keel.evaluation.score"], 0.7);

    const bad = await keelScore(h, [id, "--score", "1.5"]);
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes(`--score "1.5" is not a number between 0 and 1`), bad.stderr);
    const missing = await keelScore(h, [crypto.randomUUID(), "--score", "0.5"]);
    assertEquals(missing.code, 3, missing.stderr);
    const after = await h.sql`SELECT 1 FROM evaluations WHERE directive_id = ${id}`;
    assertEquals(after.length, 2);
  } finally {
    await h.stop();
    await receiver.stop();
  }
});
