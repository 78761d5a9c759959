/**
 * `deno task bench [--quick | --smoke | --check] [--temporal=HOST:PORT]`: Keel's
 * benchmarks on a real dev server and the real Postgres. Writes
 * bench/results/latest.json and latest.md, and copies the goals and end-to-end
 * tables into README.md's benchmark block. With `--temporal`, everything runs on
 * that server instead (the cluster's PostgreSQL-backed one, docs/deploy.md) and
 * the results go to bench/results/postgres.json and postgres.md only. `--smoke` runs every measurement once at a tiny scale and
 * writes nothing (a check that the bench works). `--check` prints each goal
 * of the last run with its measured value and PASS/FAIL, and runs nothing.
 * Not part of the test command.
 *
 * @module
 */
import { createDirectiveSchema } from "../src/models/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { loadPolicy } from "../src/policy/mod.ts";
import { startLoopHarness } from "../tests/_loop.ts";
import { measureHotPaths } from "./_hot_paths.ts";
import {
  historyFootprint,
  measureDbCost,
  runOneDirective,
  startBareBaseline,
  timedBatch,
} from "./_loop.ts";
import { machineInfo } from "./_machine.ts";
import { measureMemory } from "./_memory.ts";
import { goals } from "./_goals.ts";
import { withBlock } from "./_readme.ts";
import { type BenchResults, renderMarkdown, type ThroughputLevel } from "./_report.ts";
import { measureWorkerStart } from "./worker_start.ts";

/** How much work each measurement does. */
interface Scale {
  readonly repeats: number;
  readonly itemsAt: Readonly<Record<number, number>>;
  readonly dbDirectives: number;
  readonly memoryLevels: readonly number[];
  readonly hotPathMs: number;
  readonly workerStarts: number;
}

const FULL: Scale = {
  repeats: 3,
  itemsAt: { 1: 20, 16: 128, 64: 256 },
  dbDirectives: 100,
  memoryLevels: [0, 100, 1000],
  hotPathMs: 500,
  workerStarts: 3,
};
const QUICK: Scale = {
  repeats: 2,
  itemsAt: { 1: 8, 16: 48, 64: 128 },
  dbDirectives: 32,
  memoryLevels: [0, 100, 300],
  hotPathMs: 200,
  workerStarts: 3,
};
const SMOKE: Scale = {
  repeats: 1,
  itemsAt: { 1: 2, 16: 4, 64: 4 },
  dbDirectives: 4,
  memoryLevels: [0, 5],
  hotPathMs: 20,
  workerStarts: 1,
};

/** Regular activities a directive scheduled across its two workflows before the single-workflow loop. */
const CONTINUITY_ACTIVITIES = 7;

function progress(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/**
 * `--check`: each goal of the last run (bench/results/latest.json, and
 * postgres.json when a run on the PostgreSQL-backed server exists), measured and PASS/FAIL.
 */
async function check(): Promise<void> {
  for (
    const [file, server] of [["latest", "the dev server"], ["postgres", "Temporal on PostgreSQL"]]
  ) {
    let text: string;
    try {
      text = await Deno.readTextFile(`bench/results/${file}.json`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && file === "postgres") continue;
      throw error;
    }
    const results = JSON.parse(text) as BenchResults;
    console.log(
      `goals of the run on ${server} at commit ${results.machine.gitCommit} (${results.startedAt}):`,
    );
    for (const g of goals(results)) {
      const mark = g.met === undefined ? "  –  " : g.met ? "PASS " : "FAIL ";
      console.log(`${mark} ${g.what}: ${g.measured} (goal ${g.target})`);
    }
  }
}

const TEMPORAL_FLAG = "--temporal=";

async function main(args: string[]): Promise<void> {
  const unknown = args.filter((arg) =>
    !["--quick", "--smoke", "--check"].includes(arg) && !arg.startsWith(TEMPORAL_FLAG)
  );
  if (unknown.length > 0) {
    throw new Error(
      `Unknown argument "${
        unknown[0]
      }"; use --quick, --smoke, --check, --temporal=HOST:PORT or none`,
    );
  }
  if (args.includes("--check")) return await check();
  const temporalAddress = args.find((arg) => arg.startsWith(TEMPORAL_FLAG))
    ?.slice(TEMPORAL_FLAG.length);
  if (temporalAddress !== undefined && !/^[\w.-]+:\d{1,5}$/.test(temporalAddress)) {
    throw new Error(`--temporal="${temporalAddress}" must be HOST:PORT`);
  }
  const quick = args.includes("--quick");
  const smoke = args.includes("--smoke");
  const scale = smoke ? SMOKE : quick ? QUICK : FULL;
  const startedAt = new Date();
  const schema = createDirectiveSchema({ moduleTypes: createRegistry(BUILTIN_MODULES).types() });
  const policy = await loadPolicy("policies/default.json");

  progress("hot paths");
  const hotPaths = measureHotPaths({ schema, policy, repeats: 5, ms: scale.hotPathMs });

  progress(`starting ${temporalAddress ?? "a dev server"}, database, worker`);
  const h = await startLoopHarness(
    temporalAddress === undefined ? {} : { temporalAddress },
  );
  const bare = await startBareBaseline(h);
  try {
    const machine = await machineInfo(h.sql);
    progress("warm-up and history footprint");
    const warm: string[] = [];
    for (let i = 0; i < 3; i++) warm.push(await runOneDirective(h, schema));
    const footprints = await Promise.all(warm.map((id) => historyFootprint(h, id)));
    // The continuity baseline runs as many activities as a directive scheduled
    // before the single-workflow loop (issue 16 keeps it for comparison).
    const activities = CONTINUITY_ACTIVITIES;
    for (let i = 0; i < 3; i++) await bare.run(activities);
    for (let i = 0; i < 3; i++) await bare.run(1);

    const throughput: ThroughputLevel[] = [];
    for (const concurrency of [1, 16, 64]) {
      const items = scale.itemsAt[concurrency]!;
      const keel = [];
      const bareOne = [];
      const bareMatched = [];
      for (let r = 0; r < scale.repeats; r++) {
        progress(`throughput c=${concurrency} run ${r + 1}/${scale.repeats}: keel`);
        keel.push(
          await timedBatch(items, {
            concurrency,
            item: async () => void await runOneDirective(h, schema),
          }),
        );
        progress(`throughput c=${concurrency} run ${r + 1}/${scale.repeats}: bare, 1 activity`);
        bareOne.push(await timedBatch(items, { concurrency, item: () => bare.run(1) }));
        progress(
          `throughput c=${concurrency} run ${
            r + 1
          }/${scale.repeats}: bare, ${activities} activities`,
        );
        bareMatched.push(
          await timedBatch(items, { concurrency, item: () => bare.run(activities) }),
        );
      }
      throughput.push({ concurrency, itemsPerRun: items, keel, bareOne, bareMatched });
      progress(
        `  keel ${JSON.stringify(keel)}\n  bare 1 ${
          JSON.stringify(bareOne)
        }\n  bare ${activities} ${JSON.stringify(bareMatched)}`,
      );
    }

    progress(`database cost over ${scale.dbDirectives} directives`);
    const dbCost = await measureDbCost(h, { schema, directives: scale.dbDirectives });
    progress(`  ${JSON.stringify(dbCost)}`);

    progress(`worker start to first poll and idle RSS, ${scale.workerStarts} starts`);
    const workerStart = await measureWorkerStart(h, scale.workerStarts);
    progress(`  ${JSON.stringify(workerStart)}`);

    progress(`worker memory at ${scale.memoryLevels.join(", ")} waiting directives`);
    const memory = await measureMemory(h, { schema, levels: scale.memoryLevels, samples: 3 });

    const history = footprints.toSorted((a, b) => a.jsonBytes - b.jsonBytes)[1]!;
    const results: BenchResults = {
      startedAt: startedAt.toISOString(),
      durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
      quick,
      machine,
      loadavgAtEnd: Deno.loadavg(),
      activitiesPerDirective: activities,
      throughput,
      dbCost,
      history,
      workerStart,
      memory,
      hotPaths,
      ...(temporalAddress === undefined ? {} : { temporalAddress }),
    };
    const markdown = renderMarkdown(results);
    console.log(markdown);
    if (smoke) return;
    await Deno.mkdir("bench/results", { recursive: true });
    const name = temporalAddress === undefined ? "latest" : "postgres";
    await Deno.writeTextFile(`bench/results/${name}.json`, JSON.stringify(results, null, 2) + "\n");
    await Deno.writeTextFile(`bench/results/${name}.md`, markdown);
    if (temporalAddress !== undefined) return;
    await Deno.writeTextFile(
      "README.md",
      withBlock(await Deno.readTextFile("README.md"), markdown),
    );
  } finally {
    await bare.stop();
    await h.stop();
  }
}

if (import.meta.main) {
  await main(Deno.args);
  // The Temporal runtime keeps native handles; leave once the results are written.
  Deno.exit(0);
}
