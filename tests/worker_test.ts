/**
 * The worker as the task runs it: `deno run -P=worker src/worker.ts`, with the
 * `worker` permission set, against a real dev server and a migrated database.
 */
import { Client } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { createMigratedDatabase } from "./_db.ts";
import { freePort, startDevServer } from "./_temporal.ts";
import type { pingWorkflow } from "../src/workflows/mod.ts";
import { killWorker, spawnWorker } from "./_worker_process.ts";
import { prebuiltBundle } from "./_bundle.ts";

Deno.test({
  name: "worker connects, runs the ping workflow against Postgres and drains on SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startDevServer();
    const db = await createMigratedDatabase();
    const taskQueue = `worker-test-${crypto.randomUUID()}`;
    const worker = await spawnWorker({
      DATABASE_URL: db.appUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      KEEL_LOG_LEVEL: "info",
    });
    const { child, lines } = worker;
    try {
      const connection = await NativeConnection.connect({ address: server.address });
      try {
        const client = new Client({ connection });
        const result = await client.workflow.execute<typeof pingWorkflow>("pingWorkflow", {
          taskQueue,
          workflowId: `ping-${crypto.randomUUID()}`,
        });
        const parsed = Date.parse(result.databaseTime);
        assert(!Number.isNaN(parsed), `not a timestamp: ${result.databaseTime}`);
        assert(Math.abs(Date.now() - parsed) < 60_000, "database clock far from ours");
      } finally {
        await connection.close();
      }
      child.kill("SIGTERM");
      const status = await child.status;
      await worker.drained;
      assertEquals(status.code, 0, lines.join("\n"));
      assert(lines.some((line) => line.includes('"message":"worker stopped"')), lines.join("\n"));
      // Every line the worker wrote is a JSON log record with a level.
      for (const line of lines.filter((l) => l.startsWith("{"))) {
        const record = JSON.parse(line);
        assert(["debug", "info", "warn", "error"].includes(record.level), line);
      }
    } finally {
      await killWorker(worker);
      await db.drop();
      await server.stop();
    }
  },
});

Deno.test("worker names the address it tried when no Temporal server answers", async () => {
  await prebuiltBundle();
  const address = `127.0.0.1:${freePort()}`;
  const db = await createMigratedDatabase();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=worker", "src/worker.ts"],
      env: { DATABASE_URL: db.appUrl, TEMPORAL_ADDRESS: address },
      clearEnv: true,
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 1, stderr);
    assertStringIncludes(stderr, `Cannot reach the Temporal server at "${address}"`);
  } finally {
    await db.drop();
  }
});
