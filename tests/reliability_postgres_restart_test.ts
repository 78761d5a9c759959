/**
 * Postgres crashes mid-run (`pg_ctl stop -m immediate` on a dedicated
 * cluster) and comes back. While it is down a loop needs its policy step, an
 * approval needs storing and a module is running; their activities fail,
 * retry, and succeed once it is back. Every directive completes with each
 * effect exactly once, and the histories show the retries happened.
 */
import { testSigner } from "./_decisions.ts";
import { assert, assertEquals } from "@std/assert";
import { Client } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { connect, migrate, readMigrations } from "../src/db/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { startLoop, waitForLoop } from "../src/loop/mod.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, runsOf } from "./_loop.ts";
import { startPgCluster } from "./_pg_cluster.ts";
import { assertCompletedOnce, within } from "./_reliability.ts";
import { startDevServer } from "./_temporal.ts";
import { reconcilerWorkflowId } from "../src/worker.ts";
import { killWorker, spawnWorker } from "./_worker_process.ts";

const schema = builtinSchema();

/** The highest attempt at which `activity` started in a workflow's history. */
async function maxAttempt(client: Client, workflowId: string, activity: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  let attempt = 0;
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== activity) continue;
    const started = events.find((e) =>
      Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === Number(event.eventId)
    );
    attempt = Math.max(attempt, started?.activityTaskStartedEventAttributes?.attempt ?? 0);
  }
  return attempt;
}

Deno.test({
  name: "Postgres crashes mid-run and comes back: activities retry, nothing lost or doubled",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cluster = await startPgCluster();
    const server = await startDevServer();
    const keel = new URL(cluster.adminUrl);
    keel.pathname = "/keel";
    const admin = connect(cluster.adminUrl, { max: 1 });
    await admin`CREATE DATABASE keel`;
    await admin.end();
    const owner = connect(keel.toString(), { max: 1 });
    await migrate(owner, await readMigrations("migrations"));
    await owner.end();
    keel.username = "keel_app";
    const appUrl = keel.toString();
    const sql = connect(appUrl, { max: 2 });
    const connection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection, interceptors: { workflow: [await testSigner()] } });
    const target = { client, taskQueue: `pg-${crypto.randomUUID()}`, maxAttempts: 2 };
    const worker = await spawnWorker({
      DATABASE_URL: appUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: target.taskQueue,
      KEEL_LOG_LEVEL: "info",
      // One reconciler pass at start, then none: this test starts its loops.
      KEEL_RECONCILE_INTERVAL_SECONDS: "86400",
    });
    try {
      const reconciler = client.workflow.getHandle(reconcilerWorkflowId(target.taskQueue));
      await eventually(async () => {
        const history = await reconciler.fetchHistory();
        return (history.events ?? []).some((e) => e.activityTaskCompletedEventAttributes != null);
      }, "the reconciler's first pass");
      // A module that runs across the outage and ends after it.
      const running = (await submitDirective(
        sql,
        echoDocument({ payload: { message: "across", delay_ms: 20_000 } }),
        { schema },
      )).directive.id;
      // A module that ends while Postgres is down: its ending is recorded
      // once Postgres is back, and the module does not run again.
      const ending = (await submitDirective(
        sql,
        echoDocument({ payload: { message: "ends in the outage", delay_ms: 5_000 } }),
        { schema },
      )).directive.id;
      // A loop waiting at the gate, approved during the outage.
      const gate = (await submitDirective(sql, echoDocument(), { schema })).directive.id;
      // A loop started during the outage: its policy step cannot run yet.
      const late = (await submitDirective(
        sql,
        echoDocument({ type: "noop", budget: { amount: "0.10", currency: "USD" }, payload: {} }),
        { schema },
      )).directive.id;
      for (const id of [running, ending, gate]) {
        await startLoop(target, id);
        await eventually(
          async () =>
            (await client.workflow.getHandle(directiveWorkflowId(id)).query(statusQuery))
              .phase === "awaiting_approval",
          "the gate",
        );
      }
      await client.workflow.getHandle(directiveWorkflowId(running)).executeUpdate(approveUpdate, {
        args: [{ actor: "qa", reason: "before the crash" }],
      });
      await client.workflow.getHandle(directiveWorkflowId(ending)).executeUpdate(approveUpdate, {
        args: [{ actor: "qa", reason: "before the crash" }],
      });
      for (const id of [running, ending]) {
        await eventually(
          async () => (await runsOf(sql, id))[0]?.status === "running",
          "the module to run",
        );
      }

      await cluster.crash();
      await startLoop(target, late);
      const approval = client.workflow.getHandle(directiveWorkflowId(gate)).executeUpdate(
        approveUpdate,
        { args: [{ actor: "qa", reason: "during the outage" }] },
      );
      // Longer than the driver's 10 s connect timeout, so each step's first
      // attempt fails and Temporal retries it.
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      await cluster.start();
      assertEquals((await approval).decision, "approved");

      const ids = { running, ending, gate, late };
      const results = await within(
        Promise.all(Object.values(ids).map((id) => waitForLoop(client, id))),
        90_000,
        "every loop to end after Postgres came back",
      );
      assertEquals(results.map((r) => r.status), ["complete", "complete", "complete", "complete"]);
      for (const [label, id] of Object.entries(ids)) {
        await assertCompletedOnce(sql, id, { artifacts: label === "late" ? 0 : 1, label });
      }
      // The steps that needed Postgres while it was down were retried.
      const policyAttempts = await maxAttempt(
        client,
        directiveWorkflowId(late),
        "evaluateDirectivePolicy",
      );
      const decisionAttempts = await maxAttempt(
        client,
        directiveWorkflowId(gate),
        "recordDecision",
      );
      assert(policyAttempts > 1, `policy step ran ${policyAttempts} time(s)`);
      assert(decisionAttempts > 1, `decision step ran ${decisionAttempts} time(s)`);
    } finally {
      await killWorker(worker);
      await connection.close();
      await sql.end({ timeout: 1 }).catch(() => {});
      await server.stop();
      await cluster.destroy();
    }
  },
});
