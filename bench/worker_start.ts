/**
 * The worker's start: milliseconds from spawning `deno run -P=worker
 * src/worker.ts` to its "worker polling" line (its first poll), and its
 * resident set once idle, over N starts (default 3; `--runs N`) against a
 * dev server and a migrated database of its own.
 *
 *   deno run -P=bench bench/worker_start.ts
 *
 * @module
 */
import type { LoopHarness } from "../tests/_loop.ts";
import { startLoopHarness } from "../tests/_loop.ts";
import { killWorker, spawnWorker, workerEnv } from "../tests/_worker_process.ts";
import { rssMiB } from "./_memory.ts";
import { median } from "./_stats.ts";

/** What the worker's starts measured. */
export interface WorkerStart {
  /** Milliseconds from spawn to first poll, one per start. */
  readonly startMs: readonly number[];
  /** Idle RSS (MiB) 3 s after each start became ready. */
  readonly idleRssMiB: readonly number[];
}

/** Starts a worker subprocess `runs` times on its own task queue, one after another. */
export async function measureWorkerStart(h: LoopHarness, runs: number): Promise<WorkerStart> {
  const startMs: number[] = [];
  const idleRssMiB: number[] = [];
  for (let i = 0; i < runs; i++) {
    const target = { ...h.target, taskQueue: `bench-start-${crypto.randomUUID()}` };
    const worker = await spawnWorker(workerEnv({ ...h, target }));
    try {
      startMs.push(worker.startMs);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      idleRssMiB.push(await rssMiB(worker.child.pid));
    } finally {
      await killWorker(worker);
    }
  }
  return { startMs, idleRssMiB };
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--runs");
  const runs = at >= 0 ? Number(Deno.args[at + 1]) : 3;
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`--runs takes a positive integer, not "${Deno.args[at + 1]}"`);
  }
  const h = await startLoopHarness({ noWorker: true });
  try {
    const result = await measureWorkerStart(h, runs);
    console.log(
      `worker start to first poll: median ${Math.round(median(result.startMs))} ms ` +
        `(${result.startMs.map(Math.round).join(", ")})`,
    );
    console.log(
      `worker idle RSS: median ${Math.round(median(result.idleRssMiB))} MiB ` +
        `(${result.idleRssMiB.map(Math.round).join(", ")})`,
    );
  } finally {
    await h.stop();
  }
  Deno.exit(0);
}
