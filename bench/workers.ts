/**
 * `deno task bench:workers`: Keel's throughput with one and with two worker
 * processes (`deno run -P=worker src/worker.ts`) polling one task queue of
 * one dev server, over one database: auto-approved `noop` directives at
 * concurrency 16, two repetitions each. Prints a table; writes nothing. Not
 * part of the test command.
 *
 * @module
 */
import { createDirectiveSchema } from "../src/models/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { startLoopHarness } from "../tests/_loop.ts";
import {
  killWorker,
  spawnWorker,
  workerEnv,
  type WorkerProcess,
} from "../tests/_worker_process.ts";
import { runOneDirective, timedBatch } from "./_loop.ts";

const CONCURRENCY = 16;
const ITEMS = 64;

const schema = createDirectiveSchema({ moduleTypes: createRegistry(BUILTIN_MODULES).types() });
const h = await startLoopHarness({ noWorker: true });
const env = {
  ...workerEnv(h),
  // One reconciler pass at start, then none: the bench starts its loops.
  KEEL_RECONCILE_INTERVAL_SECONDS: "86400",
};
const workers: WorkerProcess[] = [];
const rows: string[] = [];
try {
  for (const count of [1, 2]) {
    while (workers.length < count) workers.push(await spawnWorker(env));
    for (let i = 0; i < 3; i++) await runOneDirective(h, schema);
    for (let run = 1; run <= 2; run++) {
      const batch = await timedBatch(ITEMS, {
        concurrency: CONCURRENCY,
        item: async () => void await runOneDirective(h, schema),
      });
      rows.push(
        `| ${count} | ${run} | ${batch.perSecond.toFixed(2)} | ${batch.p50Ms.toFixed(0)} | ${
          batch.p95Ms.toFixed(0)
        } |`,
      );
      console.error(`[bench:workers] ${count} worker(s), run ${run}: ${rows.at(-1)}`);
    }
  }
} finally {
  await Promise.all(workers.map(killWorker));
  await h.stop();
}
console.log(`noop directives at concurrency ${CONCURRENCY}, ${ITEMS} per run (${Deno.loadavg()})`);
console.log("| worker processes | run | directives/s | p50 ms | p95 ms |");
console.log("|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
Deno.exit(0);
