/**
 * The sandbox's start overhead per run: milliseconds from `sandbox.run()` to
 * the run being handed to the module's process, cold (a new `deno` process
 * per run) and warm (the prewarmed process kept ready per module and
 * permission set), and the whole round trip of an `echo` run. Prints medians
 * and p95 over N runs (default 30; `--runs N`).
 *
 *   deno run -P=test bench/sandbox.ts
 *
 * @module
 */
import { createSandbox } from "../src/execution/mod.ts";
import { echoModule } from "../src/execution/modules/echo.ts";
import type { ModuleInput } from "../src/execution/module.ts";

const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1] ?? 30) || 30;

function input(): ModuleInput {
  return {
    runId: crypto.randomUUID(),
    directiveId: crypto.randomUUID(),
    directiveType: "echo",
    attempt: 1,
    payload: { message: "hello" },
    idempotencyKey: "bench",
    budget: { amount: "1", currency: "USD" },
    timeboxSeconds: 60,
    deadline: Date.now() + 60_000,
    constraints: [],
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function measure(prewarm: boolean): Promise<{ start: number[]; total: number[] }> {
  const sandbox = createSandbox({ prewarm });
  const start: number[] = [];
  const total: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      // A pause between runs, as between directives: the warm process is refilled meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const began = performance.now();
      let handed = NaN;
      const ending = await sandbox.run(echoModule, input(), {
        permissions: {},
        reservation: "0",
        onStart: () => handed = performance.now() - began,
      });
      if (ending.kind !== "result") throw new Error(`run ${i} ended ${ending.kind}`);
      if (i === 0) continue; // the first run compiles the module file
      start.push(handed);
      total.push(performance.now() - began);
    }
  } finally {
    await sandbox.close();
  }
  return { start: start.sort((a, b) => a - b), total: total.sort((a, b) => a - b) };
}

const fmt = (n: number) => n.toFixed(1);
for (const prewarm of [false, true]) {
  const { start, total } = await measure(prewarm);
  console.log(
    `${prewarm ? "warm" : "cold"}: start overhead median ${fmt(percentile(start, 50))} ms, ` +
      `p95 ${fmt(percentile(start, 95))} ms; echo round trip median ${
        fmt(percentile(total, 50))
      } ms, p95 ${fmt(percentile(total, 95))} ms (${runs} runs)`,
  );
}
