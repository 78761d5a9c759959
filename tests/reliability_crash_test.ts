/**
 * Crash at each step of the loop. Three directives are held at three places
 * at once (policy, approval wait, evaluation), the worker process is
 * SIGKILLed, the holds are released and a new worker starts; then three more
 * are held at run creation, module execution and the artifact write, and the
 * worker is killed again. Every directive completes, each step's
 * effect exists exactly once (a module killed mid-run is recorded `lost` and
 * run again as attempt 2, being retry-safe), and nothing the killed worker had
 * half-written survives.
 *
 * A step is held without any hook in the code: a session of the test's own
 * keeps a row lock or an uncommitted unique key that the step's transaction
 * must wait for, and the test sees the wait in `pg_blocking_pids` before it
 * kills the worker.
 */
import { assertEquals } from "@std/assert";
import { submitDirective } from "../src/directives/mod.ts";
import { runIdempotencyKey } from "../src/execution/mod.ts";
import { startLoop, waitForLoop } from "../src/loop/mod.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, type LoopHarness, runsOf, startLoopHarness } from "./_loop.ts";
import {
  assertCompletedOnce,
  block,
  type Blocker,
  effectsOf,
  lockDirective,
  within,
} from "./_reliability.ts";
import { killWorker, spawnWorker, workerEnv } from "./_worker_process.ts";

const schema = builtinSchema();

async function submit(h: LoopHarness, document: Record<string, unknown>): Promise<string> {
  return (await submitDirective(h.sql, document, { schema })).directive.id;
}

async function approveAtGate(h: LoopHarness, id: string): Promise<void> {
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  await eventually(
    async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
    `directive ${id} at the gate`,
  );
  await handle.executeUpdate(approveUpdate, { args: [{ actor: "qa", reason: "crash drill" }] });
}

async function running(h: LoopHarness, id: string): Promise<void> {
  await eventually(
    async () => (await runsOf(h.sql, id))[0]?.status === "running",
    `the module of ${id} to be running`,
  );
}

const noop = (sleepMs = 0) =>
  echoDocument({
    type: "noop",
    budget: { amount: "0.10", currency: "USD" },
    payload: sleepMs ? { sleep_ms: sleepMs } : {},
  });

Deno.test({
  name: "SIGKILL at each step of the loop: every directive completes, each effect once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const h = await startLoopHarness({ noWorker: true });
    const env = workerEnv(h);
    let worker = await spawnWorker(env);
    const blockers: Blocker[] = [];
    try {
      // Approval wait: an echo directive nobody approves before the crash.
      const gate = await submit(h, echoDocument({ payload: { message: "gate" } }));
      await startLoop(h.target, gate);

      // Evaluation: a noop that sleeps, then its evaluation insert waits.
      const evaluation = await submit(h, noop(3000));
      await startLoop(h.target, evaluation);
      await running(h, evaluation);
      blockers.push(await block(h.db.ownerUrl, lockDirective(evaluation)));

      // Policy: the evaluation's transaction waits for the directive's row.
      const policy = await submit(h, noop());
      blockers.push(await block(h.db.ownerUrl, lockDirective(policy)));
      await startLoop(h.target, policy);

      for (const [blocker, what] of blockers.map((b, i) => [b, i] as const)) {
        await blocker.blocking(`hold ${what} to stop an activity`);
      }
      await eventually(
        async () =>
          (await h.client.workflow.getHandle(directiveWorkflowId(gate)).query(statusQuery))
            .phase === "awaiting_approval",
        "the gate",
      );
      await killWorker(worker);

      // A transaction the killed worker had open is rolled back with its
      // connection. A lone statement (the evaluation insert) is already whole
      // on the server and completes once released; its retry finds it.
      for (const blocker of blockers) await blocker.release();
      blockers.length = 0;
      assertEquals((await effectsOf(h.sql, policy)).policy, 0);

      worker = await spawnWorker(env);
      await approveAtGate(h, gate);

      // Second kill, for the steps that sit right before and after the module.
      // Module execution: a long echo, approved, its module running.
      const exec = await submit(h, echoDocument({ payload: { message: "exec", delay_ms: 15000 } }));
      await startLoop(h.target, exec);
      await approveAtGate(h, exec);
      await running(h, exec);

      // Run creation: another directive's uncommitted run holds this one's key.
      const placeholder = await submit(h, echoDocument({ payload: { message: "placeholder" } }));
      const create = await submit(h, noop());
      blockers.push(
        await block(
          h.db.ownerUrl,
          (sql) =>
            sql`INSERT INTO execution_runs (directive_id, attempt, idempotency_key, module)
              VALUES (${placeholder}, 1, ${runIdempotencyKey(create, 1)}, 'echo')`,
        ),
      );
      await startLoop(h.target, create);
      await blockers[0]?.blocking("the run's creation");

      // Artifact write: a stopped ending sends no heartbeats, so the kill
      // must follow within the 5 s heartbeat timeout. The run's ending and
      // its artifact are one transaction, stopped at the artifact's
      // foreign-key check on the directive.
      const artifact = await submit(
        h,
        echoDocument({ payload: { message: "art", delay_ms: 3000 } }),
      );
      await startLoop(h.target, artifact);
      await approveAtGate(h, artifact);
      await running(h, artifact);
      const held = await block(h.db.ownerUrl, lockDirective(artifact));
      blockers.push(held);
      await held.blocking("the artifact write");
      assertEquals((await runsOf(h.sql, exec))[0]?.status, "running");
      await killWorker(worker);
      for (const blocker of blockers) await blocker.release();
      blockers.length = 0;
      assertEquals((await runsOf(h.sql, artifact))[0]?.status, "running");
      assertEquals((await effectsOf(h.sql, artifact)).artifacts, 0);
      worker = await spawnWorker(env);

      const ids = { policy, gate, create, exec, artifact, evaluation };
      const results = await within(
        Promise.all(Object.values(ids).map((id) => waitForLoop(h.client, id))),
        120_000,
        "every loop to end after the restart",
      );
      assertEquals(results.map((r) => r.status), Object.values(ids).map(() => "complete"));
      for (const [label, id] of Object.entries(ids)) {
        const echo = label === "gate" || label === "exec" || label === "artifact";
        if (label === "exec" || label === "artifact") {
          // Its module had started when the worker died: attempt 1 is lost
          // (whether it acted is unknown) and echo, being retry-safe, runs
          // once more. The lost attempt left no artifact.
          assertEquals(
            (await runsOf(h.sql, id)).map((r) => [r.attempt, r.status, r.outcome]),
            [[1, "lost", null], [2, "completed", "SUCCESS"]],
            label,
          );
          assertEquals(await effectsOf(h.sql, id), {
            policy: 1,
            approvals: 1,
            runs: 2,
            artifacts: 1,
            evaluations: 1,
            transitions: 5,
            charges: 2,
            budgetRows: 4,
          }, label);
        } else {
          await assertCompletedOnce(h.sql, id, { artifacts: echo ? 1 : 0, label });
        }
      }
      // The placeholder directive was never given a run by anyone.
      assertEquals((await effectsOf(h.sql, placeholder)).runs, 0);
    } finally {
      for (const blocker of blockers) await blocker.release().catch(() => {});
      await killWorker(worker);
      await h.stop();
    }
  },
});
