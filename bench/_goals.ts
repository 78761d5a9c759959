/**
 * Issue 16's goals, each with the figure of a bench run that measures it and
 * whether it is met. Pure: reads a results object, computes nothing new.
 *
 * @module
 */
import type { BatchResult } from "./_loop.ts";
import type { MemoryPoint } from "./_memory.ts";
import { median, significant as sig, summarize, type Summary } from "./_stats.ts";
import type { BenchResults, ThroughputLevel } from "./_report.ts";

/** Keel ÷ a baseline per repetition: throughput (higher is better) and p50 latency. */
export function ratios(
  keel: readonly BatchResult[],
  bare: readonly BatchResult[],
): { throughput: Summary; p50: Summary } {
  const pairs = keel.map((k, i) => [k, bare[i]!] as const);
  return {
    throughput: summarize(pairs.map(([k, b]) => k.perSecond / b.perSecond)),
    p50: summarize(pairs.map(([k, b]) => k.p50Ms / b.p50Ms)),
  };
}

/** KiB of worker RSS per parked directive, from the first memory point to the last. */
export function perParkedKiB(points: readonly MemoryPoint[]): number {
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last || last.waiting === first.waiting) return Number.NaN;
  return (last.rssMiB - first.rssMiB) * 1024 / (last.waiting - first.waiting);
}

/** One goal with its measured value. */
export interface Goal {
  /** What is measured. */
  readonly what: string;
  /** The target, as written in the table. */
  readonly target: string;
  /** The measured value, as written in the table. */
  readonly measured: string;
  /** Whether the target is met; undefined when the run measured nothing for it. */
  readonly met: boolean | undefined;
}

function goal(
  what: string,
  target: string,
  value: number,
  meets: (value: number) => boolean,
  unit = "",
): Goal {
  if (!Number.isFinite(value)) return { what, target, measured: "not measured", met: undefined };
  return { what, target, measured: `${sig(value)}${unit}`, met: meets(value) };
}

/** The median of some samples, NaN (not measured) of none. */
function medianOf(samples: readonly number[]): number {
  return samples.length > 0 ? median(samples) : Number.NaN;
}

function level(results: BenchResults, concurrency: number): ThroughputLevel | undefined {
  return results.throughput.find((entry) => entry.concurrency === concurrency);
}

function ratioAt(
  results: BenchResults,
  concurrency: number,
  key: "throughput" | "p50",
): number {
  const found = level(results, concurrency);
  return found ? ratios(found.keel, found.bareOne)[key].median : Number.NaN;
}

/** Issue 16's goals against one run. */
export function goals(results: BenchResults): Goal[] {
  const h = results.history;
  const parked = results.memory.at(-1)?.waiting ?? 0;
  return [
    goal(
      "p50 latency at concurrency 1, Keel ÷ one-activity workflow",
      "≤ 1.5×",
      ratioAt(results, 1, "p50"),
      (v) => v <= 1.5,
      "×",
    ),
    ...[16, 64].map((c) =>
      goal(
        `throughput at concurrency ${c}, Keel ÷ one-activity workflow`,
        "≥ 0.7×",
        ratioAt(results, c, "throughput"),
        (v) => v >= 0.7,
        "×",
      )
    ),
    goal(
      "Postgres transactions per directive",
      "≤ 6",
      results.dbCost.xactsPerDirective,
      (v) => v <= 6,
    ),
    goal("Temporal workflows per directive", "1", h.workflows, (v) => v === 1),
    goal("history events per directive (all its workflows)", "≤ 30", h.events, (v) => v <= 30),
    goal(
      "history size per directive (JSON, all its workflows)",
      "≤ 16 KiB",
      h.jsonBytes / 1024,
      (v) => v <= 16,
      " KiB",
    ),
    goal(
      "worker RSS, idle",
      "≤ 160 MiB",
      medianOf(results.workerStart.idleRssMiB),
      (v) => v <= 160,
      " MiB",
    ),
    goal(
      `worker RSS per directive parked at the gate (${parked} parked)`,
      "≤ 60 KiB",
      perParkedKiB(results.memory),
      (v) => v <= 60,
      " KiB",
    ),
    goal(
      "worker start to first poll",
      "≤ 2 s",
      medianOf(results.workerStart.startMs) / 1000,
      (v) => v <= 2,
      " s",
    ),
  ];
}

/** The goals as a markdown table. */
export function renderGoals(results: BenchResults): string[] {
  const mark = (met: boolean | undefined) => met === undefined ? "–" : met ? "PASS" : "FAIL";
  return [
    "| goal | target | measured | |",
    "|---|---:|---:|---|",
    ...goals(results).map((g) => `| ${g.what} | ${g.target} | ${g.measured} | ${mark(g.met)} |`),
  ];
}
