/** The worker as a separate process, run exactly as `deno task worker` runs it. */
import { TEST_DECISION_SECRET } from "./_decisions.ts";
import { prebuiltBundle } from "./_bundle.ts";

/** A worker subprocess and its output. */
export interface WorkerProcess {
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** Lines it wrote so far (stdout and stderr). */
  readonly lines: string[];
  /** Resolves once its output streams close. */
  readonly drained: Promise<void>;
  /** Milliseconds from spawning it to its "worker polling" line (its first poll). */
  readonly startMs: number;
}

/** Collects a stream's text into `lines`, one entry per line. */
export async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    lines.push(...parts);
  }
  if (buffer) lines.push(buffer);
}

/**
 * Starts `deno run -P=worker src/worker.ts` with `env` plus what any shell
 * has (`PATH`, where the worker finds `deno` for its module processes, and
 * `HOME`, under which Deno keeps its cache), and waits until it is ready.
 * Builds the workflow bundle first when it is missing or stale. `flags` go
 * after `-P=worker` (those `deno task permissions worker` prints).
 */
export async function spawnWorker(
  env: Record<string, string>,
  flags: readonly string[] = [],
): Promise<WorkerProcess> {
  await prebuiltBundle();
  const spawnedAt = performance.now();
  let startMs = Number.NaN;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=worker", ...flags, "src/worker.ts"],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      KEEL_DECISION_KEY: TEST_DECISION_SECRET,
      ...env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const drained = Promise.all([collect(child.stdout, lines), collect(child.stderr, lines)]).then(
    () => {},
  );
  const deadline = Date.now() + 60_000;
  while (!lines.some((line) => line.includes("worker ready and idle"))) {
    if (Number.isNaN(startMs) && lines.some((line) => line.includes("worker polling"))) {
      startMs = performance.now() - spawnedAt;
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`worker did not become ready:\n${lines.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (Number.isNaN(startMs)) startMs = performance.now() - spawnedAt;
  return { child, lines, drained, startMs };
}

/** Kills a worker with SIGKILL (no chance to drain) and waits for it to be gone. */
export async function killWorker(worker: WorkerProcess): Promise<void> {
  try {
    worker.child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await worker.child.status;
  await worker.drained;
}

/** The environment of a worker on a loop harness's database, server and task queue. */
export function workerEnv(
  h: { db: { appUrl: string }; server: { address: string }; target: { taskQueue: string } },
): Record<string, string> {
  return {
    DATABASE_URL: h.db.appUrl,
    TEMPORAL_ADDRESS: h.server.address,
    TEMPORAL_TASK_QUEUE: h.target.taskQueue,
    KEEL_LOG_LEVEL: "info",
  };
}
