/**
 * `src/cli/healthcheck.ts`, the compose services' healthcheck, run as compose
 * runs it (`deno run -P=healthcheck`) against a real Temporal dev server, a
 * real in-process worker and the real API handler: unhealthy until a worker
 * polls the task queue, healthy once it does; the API check follows
 * `/readyz`. Its permission set reads no file and reaches no other host.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { withApi } from "./_api.ts";
import { freePort } from "./_temporal.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function healthcheck(
  service: string,
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command("deno", {
    args: ["run", "--quiet", "-P=healthcheck", "src/cli/healthcheck.ts", "--service", service],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("the worker check fails until a worker polls the queue; the API check follows /readyz", async () => {
  await withApi({ tokens: [] }, async (base, h) => {
    const temporal = {
      TEMPORAL_ADDRESS: h.server.address,
      TEMPORAL_NAMESPACE: "default",
      TEMPORAL_TASK_QUEUE: h.target.taskQueue,
    };
    const before = await healthcheck("worker", temporal);
    assertEquals(before.code, 1, before.stderr);
    assertStringIncludes(before.stderr, `no worker polls task queue "${h.target.taskQueue}"`);

    await h.startWorker();
    // The worker's first poll reaches the server shortly after it starts: a bounded retry,
    // as compose's own `retries` would.
    let after = await healthcheck("worker", temporal);
    for (let attempt = 1; attempt < 20 && after.code !== 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = await healthcheck("worker", temporal);
    }
    assertEquals(after.code, 0, after.stderr);

    const other = await healthcheck("worker", { ...temporal, TEMPORAL_TASK_QUEUE: "nobody-polls" });
    assertEquals(other.code, 1, other.stderr);

    const api = await healthcheck("api", { KEEL_HTTP_PORT: new URL(base).port });
    assertEquals(api.code, 0, api.stderr);
    const closed = await healthcheck("api", { KEEL_HTTP_PORT: String(freePort()) });
    assertEquals(closed.code, 1, closed.stderr);
    assertStringIncludes(closed.stderr, "healthcheck: api unhealthy");
  }, { noWorker: true });
});

Deno.test("a bad --service is a usage error", async () => {
  const { code, stderr } = await healthcheck("database", {});
  assertEquals(code, 2);
  assertStringIncludes(stderr, `--service must be "worker" or "api", got "database"`);
});

Deno.test("the healthcheck permission set reads no file, reaches no other host and no other env", async () => {
  const output = await new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      "-P=healthcheck",
      "tests/fixtures/permission_probe.ts",
      "deno.json",
      // 192.0.2.1 is TEST-NET-1: on no allow-list, and never a real host.
      "192.0.2.1:9",
      "TEMPORAL_ADDRESS",
      "DATABASE_URL",
      "KEEL_DECISION_KEY",
    ],
    cwd: ROOT,
    env: { DATABASE_URL: "postgres://x@127.0.0.1/x", KEEL_DECISION_KEY: "secret" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  const report = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals(report, {
    read: "denied",
    net: "denied",
    env: { TEMPORAL_ADDRESS: "allowed", DATABASE_URL: "denied", KEEL_DECISION_KEY: "denied" },
  });
  // Nor can it start a process.
  const run = await new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      "--config=deno.json",
      "-P=healthcheck",
      'data:application/javascript,new Deno.Command("true").outputSync()',
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(run.code !== 0, "the healthcheck set ran a subprocess");
  assertStringIncludes(new TextDecoder().decode(run.stderr), "NotCapable");
});
