/**
 * What the worker's memory is made of: starts a dev server, a migrated
 * database and the worker as a subprocess (as the `worker` task runs it, see
 * `tests/_worker_process.ts`), parks N echo directives at its approval gate
 * and prints, idle and with N parked: VmRSS, its anonymous and file-backed
 * parts, and each V8 isolate's heap after its last GC (from
 * `--v8-flags=--trace-gc`, which this adds: the main isolate and, when
 * workflows run in a thread, the thread's).
 *
 *   deno run -P=bench bench/memory.ts [--parked N] [--flag DENO_FLAG]... [--env NAME=VALUE]...
 *     [--log FILE] [--gc] [--settle SECONDS]
 *
 * `--flag` adds a flag to the worker's `deno run` (e.g.
 * `--flag=--v8-flags=--max-semi-space-size=1`, comma-joined with the trace
 * flag), `--env` a variable (e.g. `--env KEEL_MAX_CACHED_WORKFLOWS=20`).
 * `--gc` runs the worker through bench/_worker_gc.ts, which forces a full GC
 * of its main isolate before each reading and prints its heap after it.
 * `--settle` is how long to wait after the last directive parked before
 * reading (default 5 s; V8 releases pooled pages and runs its memory
 * reducer only after some idle seconds). Prints one table; writes nothing but the worker's output to `--log FILE` (under /tmp).
 *
 * @module
 */
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { createDirectiveSchema } from "../src/models/mod.ts";
import { startLoopHarness } from "../tests/_loop.ts";
import { killWorker, spawnWorker, workerCommand, workerEnv } from "../tests/_worker_process.ts";
import { parkAtGate } from "./_memory.ts";
import { median } from "./_stats.ts";

/** One reading of the worker process. */
export interface MemoryReading {
  /** VmRSS, MiB. */
  readonly rss: number;
  /** RssAnon (heap, stacks, allocator arenas), MiB. */
  readonly anon: number;
  /** RssFile (the deno binary, the native Temporal core), MiB. */
  readonly file: number;
  /** Per isolate (by address): its V8 heap after its last GC. */
  readonly heaps: ReadonlyMap<string, HeapAfterGc>;
  /** With --gc: the main isolate after a forced full GC, before the RSS samples. */
  readonly afterGc?: MainAfterGc;
}

async function procStatus(pid: number): Promise<Record<string, number>> {
  const read = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stderr: "null" })
    .output();
  const out: Record<string, number> = {};
  for (const match of new TextDecoder().decode(read.stdout).matchAll(/^(\w+):\s+(\d+) kB$/gm)) {
    out[match[1]!] = Number(match[2]) / 1024;
  }
  if (out.VmRSS === undefined) throw new Error(`Reading /proc/${pid}/status failed: no VmRSS`);
  return out;
}

/** `[pid:0xaddr]  123 ms: Mark-Compact 25.3 (40.2) -> 20.1 (38.0) MB` lines of --trace-gc. */
const GC_LINE =
  /\[\d+:(0x[0-9a-f]+)\][^:]*: (Scavenge|Mark-Compact|Minor Mark-Sweep)[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/;

/** An isolate's heap after its last GC, from `--trace-gc`. */
export interface HeapAfterGc {
  /** `Scavenge` (young generation only) or `Mark-Compact` (full). */
  readonly kind: string;
  /** Heap used after it, MiB. */
  readonly used: number;
  /** Heap reserved after it, MiB. */
  readonly total: number;
  /** Full GCs the isolate ran so far. */
  readonly fullGcs: number;
}

/** Each isolate's heap after its last GC, from the worker's trace-gc lines. */
export function lastGc(lines: readonly string[]): Map<string, HeapAfterGc> {
  const heaps = new Map<string, HeapAfterGc>();
  for (const line of lines) {
    const match = line.match(GC_LINE);
    if (!match) continue;
    const kind = match[2]!;
    const fullGcs = (heaps.get(match[1]!)?.fullGcs ?? 0) + (kind === "Mark-Compact" ? 1 : 0);
    heaps.set(match[1]!, { kind, used: Number(match[3]), total: Number(match[4]), fullGcs });
  }
  return heaps;
}

/** `Deno.memoryUsage()` of the main isolate after a full GC, from bench/_worker_gc.ts. */
export interface MainAfterGc {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
}

/** Asks bench/_worker_gc.ts for a full GC, and returns what it printed after it. */
async function collect(child: Deno.ChildProcess, lines: string[]): Promise<MainAfterGc> {
  const before = lines.length;
  child.kill("SIGUSR2");
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const line = lines.slice(before).find((l) => l.startsWith("keel-memory "));
    if (line) return JSON.parse(line.slice("keel-memory ".length));
  }
  throw new Error("The worker did not answer SIGUSR2 with a keel-memory line in 10 s");
}

async function reading(
  pid: number,
  lines: readonly string[],
  afterGc?: MainAfterGc,
): Promise<MemoryReading> {
  const samples: Record<string, number>[] = [];
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    samples.push(await procStatus(pid));
  }
  const med = (key: string) => median(samples.map((s) => s[key] ?? Number.NaN));
  return {
    rss: med("VmRSS"),
    anon: med("RssAnon"),
    file: med("RssFile"),
    heaps: lastGc(lines),
    ...(afterGc === undefined ? {} : { afterGc }),
  };
}

function heapText(heaps: ReadonlyMap<string, HeapAfterGc>): string {
  return [...heaps.values()].map((h) =>
    `${h.used.toFixed(1)} (${h.total.toFixed(1)}) after ${h.kind}, ${h.fullGcs} full`
  ).join(" + ");
}

/**
 * V8 prints --trace-gc lines with stdio, which buffers a pipe in blocks: the
 * lines of the last minutes would arrive late. coreutils' stdbuf library,
 * preloaded, makes stdout line-buffered; without it the heaps read stale.
 */
function lineBufferedStdout(): Record<string, string> {
  const library = "/usr/libexec/coreutils/libstdbuf.so";
  try {
    Deno.statSync(library);
    return { LD_PRELOAD: library, _STDBUF_O: "L" };
  } catch {
    console.error(`${library} is missing: the heap figures may be stale`);
    return {};
  }
}

function afterGcText(m: MainAfterGc | undefined): string {
  if (m === undefined) return "(run with --gc)";
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  return `${mib(m.heapUsed)} / ${mib(m.heapTotal)} / ${mib(m.external)}`;
}

function parseArgs(args: readonly string[]) {
  let parked = 1000;
  const flags: string[] = [];
  const env: Record<string, string> = {};
  let v8 = "--trace-gc";
  let log: string | undefined;
  let gc = false;
  let settle = 5;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--gc") {
      gc = true;
      continue;
    }
    const [name, inline] = args[i]!.split(/=(.*)/s, 2);
    const value = inline ?? args[++i];
    if (value === undefined) throw new Error(`${name} takes a value`);
    if (name === "--parked") {
      parked = Number(value);
      if (!Number.isInteger(parked) || parked < 1) {
        throw new Error(`--parked takes a positive integer, not "${value}"`);
      }
    } else if (name === "--settle") {
      settle = Number(value);
      if (!Number.isFinite(settle) || settle < 0) {
        throw new Error(`--settle takes seconds (0 or more), not "${value}"`);
      }
    } else if (name === "--log") {
      log = value;
    } else if (name === "--flag" && value.startsWith("--v8-flags=")) {
      v8 += `,${value.slice("--v8-flags=".length)}`;
    } else if (name === "--flag") {
      flags.push(value);
    } else if (name === "--env" && value.includes("=")) {
      const [key, ...rest] = value.split("=");
      env[key!] = rest.join("=");
    } else {
      throw new Error(`Unknown argument "${args[i]}": use --parked N, --flag F, --env NAME=VALUE`);
    }
  }
  if (gc) v8 += ",--expose-gc";
  return { parked, flags: [...flags, `--v8-flags=${v8}`], env, log, gc, settle };
}

if (import.meta.main) {
  const { parked, flags, env, log, gc, settle } = parseArgs(Deno.args);
  const schema = createDirectiveSchema({ moduleTypes: createRegistry(BUILTIN_MODULES).types() });
  const h = await startLoopHarness({ noWorker: true });
  try {
    const target = { ...h.target, taskQueue: `bench-memory-${crypto.randomUUID()}` };
    const worker = await spawnWorker(
      { ...workerEnv({ ...h, target }), ...lineBufferedStdout(), ...env },
      { denoFlags: flags, ...(gc ? { script: "bench/_worker_gc.ts" } : {}) },
    );
    const read = async () =>
      await reading(
        worker.child.pid,
        worker.lines,
        gc ? await collect(worker.child, worker.lines) : undefined,
      );
    try {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const idle = await read();
      const started = performance.now();
      await parkAtGate(h, target, schema, parked);
      const parkMs = performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, settle * 1000));
      const full = await read();
      const perParked = ((full.rss - idle.rss) * 1024) / parked;
      const task = await workerCommand();
      console.log(
        `worker: the task's ${JSON.stringify(task)} plus flags ${flags.join(" ")} and env ${
          JSON.stringify(env)
        }`,
      );
      console.log(
        "| | VmRSS MiB | RssAnon | RssFile | V8 heap per isolate after its last GC, MiB (reserved) " +
          "| main isolate after a forced full GC: used / total / external MiB |",
      );
      console.log(`|---|---:|---:|---:|---|---|`);
      for (const [label, r] of [["idle", idle], [`${parked} parked`, full]] as const) {
        console.log(
          `| ${label} | ${r.rss.toFixed(0)} | ${r.anon.toFixed(0)} | ${r.file.toFixed(0)} | ${
            heapText(r.heaps)
          } | ${afterGcText(r.afterGc)} |`,
        );
      }
      console.log(
        `≈ ${perParked.toFixed(0)} KiB per parked directive; parking took ${
          (parkMs / 1000).toFixed(0)
        } s`,
      );
    } finally {
      await killWorker(worker);
      if (log !== undefined) await Deno.writeTextFile(log, worker.lines.join("\n") + "\n");
    }
  } finally {
    await h.stop();
  }
  Deno.exit(0);
}
