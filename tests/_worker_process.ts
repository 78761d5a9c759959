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

/** The `worker` task's command line, split: its leading `NAME=value` words and the `deno` arguments. */
export interface WorkerCommand {
  /** Variables the task sets before `deno` (e.g. allocator tuning). */
  readonly env: Record<string, string>;
  /** The arguments after `deno` (`run`, flags, `src/worker.ts`). */
  readonly args: string[];
}

/** Reads the `worker` task from deno.json, so tests start the worker with the task's flags. */
export async function workerCommand(): Promise<WorkerCommand> {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const task: unknown = config.tasks?.worker;
  if (typeof task !== "string") throw new Error("Reading the worker task failed: no tasks.worker");
  const words = task.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split("=");
    env[name!] = value.join("=");
  }
  if (words.shift() !== "deno") {
    throw new Error(`Reading the worker task failed: "${task}" does not run deno`);
  }
  return { env, args: words };
}

/**
 * Starts the worker as the `worker` task does (`deno run -P=worker
 * src/worker.ts` with the task's flags and variables), with `env` plus what
 * any shell has (`PATH`, where the worker finds `deno` for its module
 * processes, and `HOME`, under which Deno keeps its cache), and waits until
 * it is ready. `options.denoFlags` go before the script (extra `--v8-flags`
 * join the task's; the `--allow-*` flags `deno task permissions worker`
 * prints go here too); `options.script` replaces `src/worker.ts` (a
 * benchmark's wrapper around it). Builds the workflow bundle first when it is missing or
 * stale.
 */
export async function spawnWorker(
  env: Record<string, string>,
  options: { readonly denoFlags?: readonly string[]; readonly script?: string } = {},
): Promise<WorkerProcess> {
  await prebuiltBundle();
  const command = await workerCommand();
  const taskScript = command.args.pop()!;
  const script = options.script ?? taskScript;
  // Deno takes one --v8-flags: extra V8 flags join the task's.
  const v8 = "--v8-flags=";
  const extraV8 = (options.denoFlags ?? []).filter((f) => f.startsWith(v8)).map((f) =>
    f.slice(v8.length)
  );
  const denoFlags = (options.denoFlags ?? []).filter((f) => !f.startsWith(v8));
  if (extraV8.length > 0) {
    const at = command.args.findIndex((a) => a.startsWith(v8));
    if (at >= 0) command.args[at] = [command.args[at], ...extraV8].join(",");
    else denoFlags.push(v8 + extraV8.join(","));
  }
  const spawnedAt = performance.now();
  let startMs = Number.NaN;
  const child = new Deno.Command(Deno.execPath(), {
    args: [...command.args, ...denoFlags, script],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      KEEL_DECISION_KEY: TEST_DECISION_SECRET,
      ...command.env,
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
