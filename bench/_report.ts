/** The benchmark results and their markdown. */
import type { BatchResult, DbCost, HistoryFootprint } from "./_loop.ts";
import type { HotPaths } from "./_hot_paths.ts";
import type { MachineInfo } from "./_machine.ts";
import type { MemoryPoint } from "./_memory.ts";
import type { WorkerStart } from "./worker_start.ts";
import { perParkedKiB, ratios, renderGoals } from "./_goals.ts";
import { median, significant as sig, summarize, type Summary } from "./_stats.ts";

/** Keel and the bare-Temporal baselines at one concurrency, every repetition. */
export interface ThroughputLevel {
  readonly concurrency: number;
  readonly itemsPerRun: number;
  readonly keel: readonly BatchResult[];
  /** A workflow running one no-op activity. */
  readonly bareOne: readonly BatchResult[];
  /** A workflow running as many no-op activities as a Keel directive scheduled before the single-workflow loop (7). */
  readonly bareMatched: readonly BatchResult[];
}

/** Everything one `deno task bench` measured. */
export interface BenchResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly loadavgAtEnd: readonly number[];
  /** Activities the continuity baseline runs: as many as a directive scheduled before the single-workflow loop (7). */
  readonly activitiesPerDirective: number;
  readonly throughput: readonly ThroughputLevel[];
  readonly dbCost: DbCost;
  readonly history: HistoryFootprint;
  readonly workerStart: WorkerStart;
  readonly memory: readonly MemoryPoint[];
  readonly hotPaths: HotPaths;
  /** The Temporal server it ran on, when not a dev server of its own (`--temporal`). */
  readonly temporalAddress?: string;
}

/** The heading of the section README.md shows, beside the run line and the goals. */
export const END_TO_END_HEADING = "## End-to-end: submit → complete, noop module, auto-approved";

/** The heading of the goals section. */
export const GOALS_HEADING = "## Goals (issue 16)";

function range(summary: Summary, unit = ""): string {
  return `${sig(summary.median)}${unit} (${sig(summary.min)}–${sig(summary.max)})`;
}

function of(results: readonly BatchResult[], key: keyof BatchResult): Summary {
  return summarize(results.map((result) => result[key]));
}

function runLine(results: BenchResults): string {
  const flag = results.quick ? " --quick" : "";
  return `Run ${results.startedAt} in ${
    Math.round(results.durationSeconds)
  } s with \`deno task bench${flag}\` at commit ${results.machine.gitCommit}.`;
}

function endToEnd(results: BenchResults): string[] {
  const n = results.activitiesPerDirective;
  const lines = [
    END_TO_END_HEADING,
    "",
    "Baselines, on the same server in the same run: bare Temporal workflows running **one** no-op " +
    `activity (the least a user writes to run an action durably) and **${n}** in sequence (as many ` +
    "regular activities as one Keel directive scheduled across its two workflows before the " +
    "single-workflow loop; kept for continuity with earlier tables).",
    "",
    `| concurrency | runs × items | Keel directives/s | Keel p50 ms | Keel p95 ms | 1-activity workflows/s | 1-activity p50 ms | ${n}-activity workflows/s | ${n}-activity p50 ms |`,
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const level of results.throughput) {
    lines.push(
      `| ${level.concurrency} | ${level.keel.length} × ${level.itemsPerRun} | ${
        range(of(level.keel, "perSecond"))
      } | ${range(of(level.keel, "p50Ms"))} | ${range(of(level.keel, "p95Ms"))} | ${
        range(of(level.bareOne, "perSecond"))
      } | ${range(of(level.bareOne, "p50Ms"))} | ${range(of(level.bareMatched, "perSecond"))} | ${
        range(of(level.bareMatched, "p50Ms"))
      } |`,
    );
  }
  lines.push(
    "",
    "Keel ÷ baseline, per repetition: throughput (directives/s ÷ workflows/s; higher is better) " +
      "and p50 latency (lower is better).",
    "",
    `| concurrency | throughput ÷ 1-activity | p50 ÷ 1-activity | throughput ÷ ${n}-activity | p50 ÷ ${n}-activity |`,
    "|---:|---:|---:|---:|---:|",
  );
  for (const level of results.throughput) {
    const one = ratios(level.keel, level.bareOne);
    const matched = ratios(level.keel, level.bareMatched);
    lines.push(
      `| ${level.concurrency} | ${range(one.throughput, "×")} | ${range(one.p50, "×")} | ${
        range(matched.throughput, "×")
      } | ${range(matched.p50, "×")} |`,
    );
  }
  return lines;
}

function perDirective(results: BenchResults): string[] {
  const db = results.dbCost;
  const h = results.history;
  return [
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
    `| Temporal workflows (the loop and every child) | ${h.workflows} |`,
    `| Temporal activities (regular) | ${h.activities} |`,
    `| Temporal local activities | ${h.localActivities} |`,
    `| Temporal history events, all its workflows | ${h.events} |`,
    `| Temporal history bytes (JSON), all its workflows | ${h.jsonBytes} |`,
  ];
}

function worker(results: BenchResults): string[] {
  const start = results.workerStart;
  return [
    "## Worker (subprocess: start, VmRSS)",
    "",
    `Start to first poll: ${
      start.startMs.length > 0 ? Math.round(median(start.startMs)) : "–"
    } ms (median of ${start.startMs.length} starts: ${
      start.startMs.map(Math.round).join(", ")
    }); RSS 3 s after the first poll: ${
      start.idleRssMiB.length > 0 ? sig(median(start.idleRssMiB)) : "–"
    } MiB.`,
    "",
    "| directives waiting at the approval gate | RSS MiB |",
    "|---:|---:|",
    ...results.memory.map((point) => `| ${point.waiting} | ${sig(point.rssMiB)} |`),
    "",
    `≈ ${sig(perParkedKiB(results.memory))} KiB per waiting directive (first to last point), ${
      sig(perWaiting(results.memory))
    } KiB between the last two points.`,
  ];
}

/** Renders the results as markdown. */
export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const lines = [
    `# Keel benchmark${results.quick ? " (--quick)" : ""}`,
    "",
    runLine(results),
    `Machine: ${m.cpuModel}, ${m.cpus} CPUs, ${m.memoryGiB} GiB, ${m.os} (kernel ${m.kernel}); ` +
    `Deno ${m.deno}, ${m.postgres}, ${
      results.temporalAddress === undefined
        ? `Temporal CLI ${m.temporalCli} (dev server, SQLite in memory)`
        : `the Temporal server at ${results.temporalAddress} (scripts/cluster.sh: 1.29.1 on PostgreSQL)`
    }. ` +
    `Load average at start ${m.loadavgAtStart.map((v) => v.toFixed(2)).join(" ")}, at end ${
      results.loadavgAtEnd.map((v) => v.toFixed(2)).join(" ")
    }.`,
    "",
    "Medians with min–max over the repetitions.",
    "",
    GOALS_HEADING,
    "",
    ...renderGoals(results),
    "",
    ...endToEnd(results),
    "",
    ...perDirective(results),
    "",
    ...worker(results),
    "",
    "## Hot paths (pure functions, ops/s)",
    "",
    "| function | ops/s |",
    "|---|---:|",
    ...Object.entries(results.hotPaths).map(([name, summary]) => `| ${name} | ${range(summary)} |`),
    "",
  ];
  return lines.join("\n");
}

/** KiB of worker RSS per waiting directive between the last two memory points. */
export function perWaiting(points: readonly MemoryPoint[]): number {
  const last = points.at(-1);
  const previous = points.at(-2);
  if (!last || !previous || last.waiting === previous.waiting) return Number.NaN;
  return (last.rssMiB - previous.rssMiB) * 1024 / (last.waiting - previous.waiting);
}
