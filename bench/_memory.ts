/**
 * Worker memory with directives parked at the approval gate: the worker runs
 * as a subprocess (as `deno task worker` runs it) on its own task queue, and
 * its resident set is read from /proc.
 *
 * @module
 */
import { type LoopTarget, startLoop } from "../src/loop/mod.ts";
import type { DirectiveSchema } from "../src/models/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { echoDocument } from "../tests/_directives.ts";
import { eventually, type LoopHarness } from "../tests/_loop.ts";
import { killWorker, spawnWorker, workerEnv } from "../tests/_worker_process.ts";
import { median } from "./_stats.ts";

/**
 * Resident set size of a process, in MiB, from /proc/<pid>/status. Deno asks
 * for --allow-all to read another process's /proc entry, so `cat` reads it.
 */
export async function rssMiB(pid: number): Promise<number> {
  const read = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stderr: "null" })
    .output();
  const status = new TextDecoder().decode(read.stdout);
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB$/m);
  if (!match) throw new Error(`Reading VmRSS of process ${pid} failed: no VmRSS line`);
  return Number(match[1]) / 1024;
}

async function sampleRss(pid: number, samples: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    values.push(await rssMiB(pid));
  }
  return median(values);
}

/** Worker RSS (MiB, median of samples) at each number of waiting directives. */
export interface MemoryPoint {
  /** Directives waiting at the approval gate. */
  readonly waiting: number;
  /** Median RSS over the samples, MiB. */
  readonly rssMiB: number;
}

/**
 * Starts a worker subprocess, then parks echo directives (the default policy
 * does not auto-approve echo) at its approval gate up to each level in
 * `levels` (ascending), reading its RSS at each.
 */
export async function measureMemory(
  h: LoopHarness,
  options: { schema: DirectiveSchema; levels: readonly number[]; samples: number },
): Promise<MemoryPoint[]> {
  const taskQueue = `bench-memory-${crypto.randomUUID()}`;
  const target = { ...h.target, taskQueue };
  // Info level: spawnWorker waits for the worker's "ready and idle" line.
  const worker = await spawnWorker(workerEnv({ ...h, target }));
  const points: MemoryPoint[] = [];
  const ids: string[] = [];
  try {
    for (const level of options.levels) {
      await parkAtGate(h, target, options.schema, level, ids);
      points.push({ waiting: level, rssMiB: await sampleRss(worker.child.pid, options.samples) });
    }
  } finally {
    await killWorker(worker);
  }
  return points;
}

/**
 * Submits echo directives (the default policy does not auto-approve echo)
 * and starts their loops on `target`, 50 at a time, until `ids` (the ones
 * already parked, appended to) holds `count`; then waits until all are at
 * the approval gate.
 */
export async function parkAtGate(
  h: LoopHarness,
  target: LoopTarget,
  schema: DirectiveSchema,
  count: number,
  ids: string[] = [],
): Promise<void> {
  while (ids.length < count) {
    const batch = Array.from({ length: Math.min(50, count - ids.length) }, async () => {
      const { directive } = await submitDirective(h.sql, echoDocument(), { schema });
      await startLoop(target, directive.id);
      return directive.id;
    });
    ids.push(...await Promise.all(batch));
  }
  if (ids.length > 0) await allWaiting(h, ids);
}

async function allWaiting(h: LoopHarness, ids: string[]): Promise<void> {
  await eventually(
    async () => {
      const [row] = await h.sql<{ evaluated: number }[]>`
      SELECT count(DISTINCT directive_id)::int AS evaluated FROM policy_evaluations
       WHERE directive_id = ANY(${ids}::uuid[])`;
      return row?.evaluated === ids.length;
    },
    `${ids.length} policy evaluations`,
    300_000,
  );
  for (const id of ids.slice(-5)) {
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    await eventually(
      async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
      `directive ${id} at the approval gate`,
      120_000,
    );
  }
}
