/**
 * Crash recovery: the worker process is SIGKILLed in the middle of an
 * activity and restarted. The module's attempt is recorded `lost` (whether it
 * acted is unknown), and echo, being retry-safe, runs once more as attempt 2;
 * the directive completes with no duplicate artifacts, ledger rows or
 * approvals.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, ledgerOf, runsOf, startLoopHarness } from "./_loop.ts";
import { killWorker, spawnWorker, workerEnv } from "./_worker_process.ts";

Deno.test({
  name: "SIGKILL in the middle of the module's activity: the attempt is lost, the next completes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const h = await startLoopHarness({ noWorker: true });
    const env = workerEnv(h);
    let worker = await spawnWorker(env);
    try {
      const { directive } = await submitAndStart(h.sql, h.target, {
        document: echoDocument({ payload: { message: "survive", delay_ms: 4000 } }),
        schema: builtinSchema(),
      });
      const handle = h.client.workflow.getHandle(directiveWorkflowId(directive.id));
      await eventually(
        async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
        "the approval gate",
      );
      await handle.executeUpdate(approveUpdate, { args: [{ actor: "qa", reason: "crash drill" }] });
      await eventually(
        async () => (await runsOf(h.sql, directive.id))[0]?.status === "running",
        "the module to be running",
      );
      await killWorker(worker);
      assertEquals((await runsOf(h.sql, directive.id))[0]?.status, "running");
      worker = await spawnWorker(env);
      const result = await waitForLoop(h.client, directive.id);
      assertEquals(result.status, "complete");
      const runs = await runsOf(h.sql, directive.id);
      assertEquals(runs.map((r) => [r.attempt, r.status, r.outcome]), [
        [1, "lost", null],
        [2, "completed", "SUCCESS"],
      ]);
      assertStringIncludes(runs[0]?.message ?? "", "attempt 1 lost");
      const [counts] = await h.sql<{ artifacts: number; approvals: number; evaluations: number }[]>`
        SELECT (SELECT count(*)::int FROM artifacts WHERE directive_id = ${directive.id}) AS artifacts,
               (SELECT count(*)::int FROM approvals WHERE directive_id = ${directive.id}) AS approvals,
               (SELECT count(*)::int FROM evaluations WHERE directive_id = ${directive.id}) AS evaluations`;
      assertEquals({ ...counts }, { artifacts: 1, approvals: 1, evaluations: 1 });
      assertEquals(await ledgerOf(h.sql, directive.id), [
        "∅>draft",
        "draft>proposed",
        "proposed>approved",
        "approved>executing",
        "executing>complete",
      ]);
    } finally {
      await killWorker(worker);
      await h.stop();
    }
  },
});

Deno.test({
  name: "SIGTERM lets an in-flight activity finish before the worker exits",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const h = await startLoopHarness({ noWorker: true });
    const env = workerEnv(h);
    let worker = await spawnWorker(env);
    try {
      const { directive } = await submitAndStart(h.sql, h.target, {
        document: echoDocument({
          type: "noop",
          budget: { amount: "0.10", currency: "USD" },
          payload: { sleep_ms: 3000 },
        }),
        schema: builtinSchema(),
      });
      await eventually(
        async () => (await runsOf(h.sql, directive.id))[0]?.status === "running",
        "the module to be running",
      );
      worker.child.kill("SIGTERM");
      const status = await worker.child.status;
      await worker.drained;
      assertEquals(status.code, 0, worker.lines.join("\n"));
      // The activity finished and recorded its run before the process exited.
      assertEquals(
        (await runsOf(h.sql, directive.id)).map((r) => [r.status, r.outcome]),
        [["completed", "SUCCESS"]],
      );
      worker = await spawnWorker(env);
      assertEquals((await waitForLoop(h.client, directive.id)).status, "complete");
    } finally {
      await killWorker(worker);
      await h.stop();
    }
  },
});
