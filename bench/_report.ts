/** The benchmark results and their markdown table. */
import type { BatchResult, DbCost, HistoryFootprint } from "./_loop.ts";
import type { HotPaths } from "./_hot_paths.ts";
import type { MachineInfo } from "./_machine.ts";
import type { MemoryPoint } from "./_memory.ts";
import { significant as sig, summarize, type Summary } from "./_stats.ts";

/** Keel and bare Temporal at one concurrency, every repetition. */
export interface ThroughputLevel {
  readonly concurrency: number;
  readonly itemsPerRun: number;
  readonly keel: readonly BatchResult[];
  readonly bare: readonly BatchResult[];
}

/** Everything one `deno task bench` measured. */
export interface BenchResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly loadavgAtEnd: readonly number[];
  readonly activitiesPerDirective: number;
  readonly throughput: readonly ThroughputLevel[];
  readonly dbCost: DbCost;
  readonly history: HistoryFootprint;
  readonly memory: readonly MemoryPoint[];
  readonly hotPaths: HotPaths;
}

function range(summary: Summary, unit = ""): string {
  return `${sig(summary.median)}${unit} (${sig(summary.min)}–${sig(summary.max)})`;
}

function of(results: readonly BatchResult[], key: keyof BatchResult): Summary {
  return summarize(results.map((result) => result[key]));
}

/** Keel ÷ bare per repetition: time per item and p50 latency. */
export function ratios(level: ThroughputLevel): { time: Summary; p50: Summary } {
  const pairs = level.keel.map((keel, i) => [keel, level.bare[i]!] as const);
  return {
    time: summarize(pairs.map(([keel, bare]) => bare.perSecond / keel.perSecond)),
    p50: summarize(pairs.map(([keel, bare]) => keel.p50Ms / bare.p50Ms)),
  };
}

/** Renders the results as markdown. */
export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const lines = [
    `# Keel benchmark${results.quick ? " (--quick)" : ""}`,
    "",
    `Run ${results.startedAt} in ${Math.round(results.durationSeconds)} s with \`deno task bench${
      results.quick ? " --quick" : ""
    }\` at commit ${m.gitCommit}.`,
    `Machine: ${m.cpuModel}, ${m.cpus} CPUs, ${m.memoryGiB} GiB, ${m.os} (kernel ${m.kernel}); ` +
    `Deno ${m.deno}, ${m.postgres}, Temporal CLI ${m.temporalCli} (dev server, SQLite in memory). ` +
    `Load average at start ${m.loadavgAtStart.map((v) => v.toFixed(2)).join(" ")}, at end ${
      results.loadavgAtEnd.map((v) => v.toFixed(2)).join(" ")
    }.`,
    "",
    "Medians with min–max over the repetitions.",
    "",
    `## End-to-end: submit → complete, noop module, auto-approved`,
    "",
    `Bare Temporal: one workflow running ${results.activitiesPerDirective} no-op activities in sequence ` +
    `(as many as one Keel directive schedules across its loop and execution workflows), same server, same run.`,
    "",
    "| concurrency | runs × directives | Keel directives/s | Keel p50 ms | Keel p95 ms | bare workflows/s | bare p50 ms | bare p95 ms | Keel ÷ bare (time/item) | Keel ÷ bare (p50) |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const level of results.throughput) {
    const r = ratios(level);
    lines.push(
      `| ${level.concurrency} | ${level.keel.length} × ${level.itemsPerRun} | ${
        range(of(level.keel, "perSecond"))
      } | ${range(of(level.keel, "p50Ms"))} | ${range(of(level.keel, "p95Ms"))} | ${
        range(of(level.bare, "perSecond"))
      } | ${range(of(level.bare, "p50Ms"))} | ${range(of(level.bare, "p95Ms"))} | ${
        range(r.time, "×")
      } | ${range(r.p50, "×")} |`,
    );
  }
  const db = results.dbCost;
  const h = results.history;
  lines.push(
    "",
    "## Per directive",
    "",
    "| measure | value |",
    "|---|---:|",
    `| Postgres transactions (pg_stat_database delta, ${db.directives} directives) | ${
      sig(db.xactsPerDirective)
    } |`,
    `| Postgres rows written (ins+upd+del, pg_stat_user_tables delta) | ${
      sig(db.rowsPerDirective)
    } |`,
    ...Object.entries(db.rowsByTable).sort(([, a], [, b]) => b - a).map(([table, rows]) =>
      `| … of which \`${table}\` | ${sig(rows)} |`
    ),
    `| Temporal workflows | ${h.workflows} |`,
    `| Temporal activities | ${h.activities} |`,
    `| Temporal history events | ${h.events} |`,
    `| Temporal history bytes (JSON) | ${h.jsonBytes} |`,
    "",
    "## Worker memory (subprocess, VmRSS)",
    "",
    "| directives waiting at the approval gate | RSS MiB |",
    "|---:|---:|",
    ...results.memory.map((point) => `| ${point.waiting} | ${sig(point.rssMiB)} |`),
    "",
    `≈ ${
      sig(perWaiting(results.memory))
    } KiB per waiting directive (slope between the last two points).`,
    "",
    "## Hot paths (pure functions, ops/s)",
    "",
    "| function | ops/s |",
    "|---|---:|",
    ...Object.entries(results.hotPaths).map(([name, summary]) => `| ${name} | ${range(summary)} |`),
    "",
  );
  return lines.join("\n");
}

/** KiB of worker RSS per waiting directive between the last two memory points. */
export function perWaiting(points: readonly MemoryPoint[]): number {
  const last = points.at(-1);
  const previous = points.at(-2);
  if (!last || !previous || last.waiting === previous.waiting) return Number.NaN;
  return (last.rssMiB - previous.rssMiB) * 1024 / (last.waiting - previous.waiting);
}
