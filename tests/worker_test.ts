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
import { collect } from "./_worker_process.ts";

function spawnWorker(env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=worker", "src/worker.ts"],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function waitFor(lines: string[], text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((line) => line.includes(text))) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for "${text}"; output:\n${lines.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test({
  name: "worker connects, runs the ping workflow against Postgres and drains on SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startDevServer();
    const db = await createMigratedDatabase();
    const taskQueue = `worker-test-${crypto.randomUUID()}`;
    const child = spawnWorker({
      DATABASE_URL: db.appUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      KEEL_LOG_LEVEL: "info",
    });
    const lines: string[] = [];
    const reading = Promise.all([collect(child.stdout, lines), collect(child.stderr, lines)]);
    try {
      await waitFor(lines, "worker ready and idle", 60_000);
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
      await reading;
      assertEquals(status.code, 0, lines.join("\n"));
      assert(lines.some((line) => line.includes('"message":"worker stopped"')), lines.join("\n"));
      // Every line the worker wrote is a JSON log record with a level.
      for (const line of lines.filter((l) => l.startsWith("{"))) {
        const record = JSON.parse(line);
        assert(["debug", "info", "warn", "error"].includes(record.level), line);
      }
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      await db.drop();
      await server.stop();
    }
  },
});

Deno.test("worker names the address it tried when no Temporal server answers", async () => {
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
