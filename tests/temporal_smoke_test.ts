/**
 * The live smoke test: a Deno worker runs a one-activity workflow on a real
 * Temporal dev server, the activity writes a row to the real Postgres, and the
 * client checks the result against the row.
 */
import { Client } from "@temporalio/client";
import { NativeConnection, Worker } from "@temporalio/worker";
import { assertEquals } from "@std/assert";
import { createTestDatabase, withSql } from "./_db.ts";
import { startDevServer } from "./_temporal.ts";
import { createSmokeActivities } from "./fixtures/smoke/activities.ts";
import type { smokeWorkflow } from "./fixtures/smoke/workflows.ts";

Deno.test({
  name: "a Deno worker runs a workflow whose activity writes a row to Postgres",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startDevServer();
    const db = await createTestDatabase();
    try {
      await withSql(db.ownerUrl, async (sql) => {
        await sql`CREATE TABLE smoke_rows (id serial PRIMARY KEY, note text NOT NULL)`;
        const connection = await NativeConnection.connect({ address: server.address });
        const worker = await Worker.create({
          connection,
          taskQueue: "smoke",
          workflowsPath: new URL("./fixtures/smoke/workflows.ts", import.meta.url).pathname,
          activities: createSmokeActivities({ sql }),
        });
        // The client shares the worker's native (Rust) connection: the grpc-js
        // transport runs on Deno's node:http2 shim, which aborts the process
        // when the server sends GOAWAY during shutdown.
        const client = new Client({ connection });
        const result = await worker.runUntil(
          client.workflow.execute<typeof smokeWorkflow>("smokeWorkflow", {
            taskQueue: "smoke",
            workflowId: `smoke-${crypto.randomUUID()}`,
            args: ["hello from deno"],
          }),
        );
        const rows = await sql<{ id: number; note: string }[]>`SELECT id, note FROM smoke_rows`;
        assertEquals([...rows], [{ id: result.id, note: "hello from deno" }]);
        assertEquals(result.note, "hello from deno");
        await connection.close();
      });
    } finally {
      await db.drop();
      await server.stop();
    }
  },
});
