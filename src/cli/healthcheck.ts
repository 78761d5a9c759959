/**
 * The container healthchecks of `docker-compose.yml`, run with the narrow
 * `healthcheck` permission set (no file access, no subprocess, no ffi, a
 * network list of loopback and the compose `temporal` frontend):
 *
 * - `--service worker`: healthy when some worker polls the workflow tasks of
 *   `TEMPORAL_TASK_QUEUE` in `TEMPORAL_NAMESPACE` at `TEMPORAL_ADDRESS`.
 * - `--service api`: healthy when `GET /readyz` on 127.0.0.1:`KEEL_HTTP_PORT`
 *   answers 200 (the server reaches Postgres and Temporal).
 *
 * Exit codes: 0 healthy, 1 unhealthy (the reason on stderr), 2 bad usage.
 *
 * @module
 */
import { parseCommandLine } from "./_args.ts";
import { parseServerConfig, parseTemporalConfig, readEnv } from "../config/mod.ts";

const HELP = `Usage: deno run -P=healthcheck src/cli/healthcheck.ts --service worker|api

  --service worker  exit 0 when a worker polls the task queue's workflow tasks
                    (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE)
  --service api     exit 0 when GET http://127.0.0.1:KEEL_HTTP_PORT/readyz answers 200

Exit codes: 0 healthy, 1 unhealthy, 2 bad usage.`;

/** How long one check may take, well inside the compose healthcheck timeout. */
const DEADLINE_MS = 8_000;

/** `TASK_QUEUE_TYPE_WORKFLOW` of Temporal's API. */
const WORKFLOW_TASK_QUEUE = 1;

/** The outcome of one check: healthy, or the reason it is not. */
type Health = { readonly healthy: true } | { readonly healthy: false; readonly reason: string };

async function workerHealth(): Promise<Health> {
  const temporal = parseTemporalConfig(
    readEnv(
      ["TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"],
      (name) => Deno.env.get(name),
    ),
  );
  // Loaded here: the api check needs no gRPC client.
  const { Connection } = await import("@temporalio/client");
  const connection = await Connection.connect({
    address: temporal.address,
    connectTimeout: DEADLINE_MS,
  });
  try {
    const { pollers } = await connection.withDeadline(
      Date.now() + DEADLINE_MS,
      () =>
        connection.workflowService.describeTaskQueue({
          namespace: temporal.namespace,
          taskQueue: { name: temporal.taskQueue },
          taskQueueType: WORKFLOW_TASK_QUEUE,
        }),
    );
    return pollers.length > 0 ? { healthy: true } : {
      healthy: false,
      reason: `no worker polls task queue "${temporal.taskQueue}" in namespace ` +
        `"${temporal.namespace}" at ${temporal.address}`,
    };
  } finally {
    await connection.close();
  }
}

async function apiHealth(): Promise<Health> {
  const env = readEnv(["KEEL_HTTP_PORT"], (name) => Deno.env.get(name));
  const { port } = parseServerConfig(env);
  const url = `http://127.0.0.1:${port}/readyz`;
  const response = await fetch(url, { signal: AbortSignal.timeout(DEADLINE_MS) });
  const body = await response.text();
  return response.status === 200
    ? { healthy: true }
    : { healthy: false, reason: `GET ${url} answered ${response.status}: ${body.slice(0, 500)}` };
}

async function main(args: string[]): Promise<number> {
  const line = parseCommandLine(args, {
    name: "healthcheck",
    help: HELP,
    options: { service: { type: "string" } },
  });
  if ("exit" in line) return line.exit;
  const service = line.values.service;
  if (service !== "worker" && service !== "api") {
    console.error(
      `healthcheck: --service must be "worker" or "api", got ${JSON.stringify(service ?? "")}`,
    );
    return 2;
  }
  let health: Health;
  try {
    health = service === "worker" ? await workerHealth() : await apiHealth();
  } catch (error) {
    health = { healthy: false, reason: `checking the ${service} failed: ${String(error)}` };
  }
  if (health.healthy) return 0;
  console.error(`healthcheck: ${service} unhealthy: ${health.reason}`);
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
