/**
 * `deno task bench:workers [--workers=1,2] [--temporal=HOST:PORT]`: Keel's
 * throughput with each number of worker processes (`deno run -P=worker
 * src/worker.ts`) polling one task queue of one Temporal server (a dev server
 * of its own, or the one `--temporal` names, such as the cluster's
 * PostgreSQL-backed server), over one database: auto-approved `noop`
 * directives at concurrency 16, two repetitions each. Prints a table with the
 * CPU seconds each process used per directive; writes nothing. Not part of
 * the test command.
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
import { cpuSeconds } from "./_machine.ts";

const CONCURRENCY = 16;
const ITEMS = 64;

function flag(name: string): string | undefined {
  return Deno.args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}
const unknown = Deno.args.find((arg) => !/^--(workers|temporal)=/.test(arg));
if (unknown !== undefined) {
  throw new Error(`Unknown argument "${unknown}"; use --workers=1,2,4 and --temporal=HOST:PORT`);
}
const counts = (flag("workers") ?? "1,2").split(",").map(Number);
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
  throw new Error(`--workers="${flag("workers")}" must list whole numbers from 1 to 16`);
}
const temporalAddress = flag("temporal");

const schema = createDirectiveSchema({ moduleTypes: createRegistry(BUILTIN_MODULES).types() });
const h = await startLoopHarness({
  noWorker: true,
  ...(temporalAddress === undefined ? {} : { temporalAddress }),
});
const env = {
  ...workerEnv(h),
  // One reconciler pass at start, then none: the bench starts its loops.
  KEEL_RECONCILE_INTERVAL_SECONDS: "86400",
};
const workers: WorkerProcess[] = [];
const rows: string[] = [];
try {
  for (const count of counts) {
    while (workers.length < count) workers.push(await spawnWorker(env));
    for (let i = 0; i < 3; i++) await runOneDirective(h, schema);
    for (let run = 1; run <= 2; run++) {
      const cpuBefore = await Promise.all(workers.map((w) => cpuSeconds(w.child.pid)));
      const batch = await timedBatch(ITEMS, {
        concurrency: CONCURRENCY,
        item: async () => void await runOneDirective(h, schema),
      });
      const cpuAfter = await Promise.all(workers.map((w) => cpuSeconds(w.child.pid)));
      const cpuMs = cpuAfter.reduce((sum, v, i) => sum + v - cpuBefore[i]!, 0) * 1000 / ITEMS;
      rows.push(
        `| ${count} | ${run} | ${batch.perSecond.toFixed(2)} | ${batch.p50Ms.toFixed(0)} | ${
          batch.p95Ms.toFixed(0)
        } | ${cpuMs.toFixed(0)} |`,
      );
      console.error(`[bench:workers] ${count} worker(s), run ${run}: ${rows.at(-1)}`);
    }
  }
} finally {
  await Promise.all(workers.map(killWorker));
  await h.stop();
}
console.log(
  `noop directives at concurrency ${CONCURRENCY}, ${ITEMS} per run, on ${
    temporalAddress ?? "a dev server"
  } (load ${Deno.loadavg()})`,
);
console.log(
  "| worker processes | run | directives/s | p50 ms | p95 ms | worker CPU ms per directive |",
);
console.log("|---:|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
Deno.exit(0);
