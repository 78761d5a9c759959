/**
 * The Temporal dev server is SIGKILLed mid-run and restarted on the same
 * SQLite file and port. The worker process (never restarted) resumes: a run
 * whose module was executing completes once, a loop waiting at the gate is
 * approved and completes, and a directive submitted while Temporal was down
 * is kept in Postgres and adopted by the reconciler.
 */
import { testSigner } from "./_decisions.ts";
import { assertEquals } from "@std/assert";
import { Client } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { connect } from "../src/db/mod.ts";
import { startLoop, submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { createMigratedDatabase } from "./_db.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, runsOf } from "./_loop.ts";
import { assertCompletedOnce, within } from "./_reliability.ts";
import { freePort, startDevServer } from "./_temporal.ts";
import { killWorker, spawnWorker } from "./_worker_process.ts";

const schema = builtinSchema();

Deno.test({
  name: "Temporal restarted mid-run on the same database: the loop resumes, nothing doubles",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "keel_temporal_" });
    const dbFile = `${dir}/temporal.db`;
    const port = freePort();
    const db = await createMigratedDatabase();
    const sql = connect(db.appUrl, { max: 4 });
    let server = await startDevServer({ dbFile, port });
    const taskQueue = `restart-${crypto.randomUUID()}`;
    let connection = await NativeConnection.connect({ address: server.address });
    let target = {
      client: new Client({ connection, interceptors: { workflow: [await testSigner()] } }),
      taskQueue,
      maxAttempts: 2,
    };
    const worker = await spawnWorker({
      DATABASE_URL: db.appUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      KEEL_RECONCILE_INTERVAL_SECONDS: "1",
      KEEL_LOG_LEVEL: "info",
    });
    try {
      const gate = (await submitDirective(sql, echoDocument(), { schema })).directive.id;
      await startLoop(target, gate);
      const gateHandle = target.client.workflow.getHandle(directiveWorkflowId(gate));
      await eventually(
        async () => (await gateHandle.query(statusQuery)).phase === "awaiting_approval",
        "the gate",
      );
      const busy = (await submitDirective(
        sql,
        echoDocument({ payload: { message: "busy", delay_ms: 4000 } }),
        { schema },
      )).directive.id;
      await startLoop(target, busy);
      const busyHandle = target.client.workflow.getHandle(directiveWorkflowId(busy));
      await eventually(
        async () => (await busyHandle.query(statusQuery)).phase === "awaiting_approval",
        "the gate",
      );
      await busyHandle.executeUpdate(
        approveUpdate,
        { args: [{ actor: "qa", reason: "restart drill" }] },
      );
      await eventually(
        async () => (await runsOf(sql, busy))[0]?.status === "running",
        "the module to run",
      );

      server.process.kill("SIGKILL");
      await server.stop();
      await connection.close();

      // While Temporal is down the directive is still stored; its start fails.
      const orphan = await submitAndStart(sql, target, {
        document: echoDocument({
          type: "noop",
          budget: { amount: "0.10", currency: "USD" },
          payload: {},
        }),
        schema,
      });
      assertEquals(orphan.created, true);
      assertEquals(typeof orphan.startError, "string");

      server = await startDevServer({ dbFile, port });
      connection = await NativeConnection.connect({ address: server.address });
      target = {
        client: new Client({ connection, interceptors: { workflow: [await testSigner()] } }),
        taskQueue,
        maxAttempts: 2,
      };
      await target.client.workflow.getHandle(directiveWorkflowId(gate)).executeUpdate(
        approveUpdate,
        { args: [{ actor: "qa", reason: "after the restart" }] },
      );
      const ids = { gate, busy, orphan: orphan.directive.id };
      const results = await within(
        Promise.all(
          Object.values(ids).map(async (id) => {
            // The reconciler starts the orphan's loop; wait until it exists.
            await eventually(
              async () => {
                try {
                  await target.client.workflow.getHandle(directiveWorkflowId(id)).describe();
                  return true;
                } catch {
                  return false;
                }
              },
              `the loop of ${id}`,
            );
            return await waitForLoop(target.client, id);
          }),
        ),
        90_000,
        "every loop to end after the restart",
      );
      assertEquals(results.map((r) => r.status), ["complete", "complete", "complete"]);
      for (const [label, id] of Object.entries(ids)) {
        await assertCompletedOnce(sql, id, { artifacts: label === "orphan" ? 0 : 1, label });
      }
      // The worker process was never restarted.
      assertEquals(worker.lines.filter((l) => l.includes("worker ready and idle")).length, 1);
    } finally {
      await killWorker(worker);
      await connection.close().catch(() => {});
      await sql.end({ timeout: 5 });
      await db.drop();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
