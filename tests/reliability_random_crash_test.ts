/**
 * Randomized crash drill. A seeded mix of ~30 directives (noop with a sleep,
 * echo with a delay, fail_intentionally returning FAILURE or throwing) runs
 * twice on worker processes started as `deno task worker` starts them, with
 * `KEEL_MAX_EXECUTION_ATTEMPTS=4`:
 *
 * 1. control: one worker, no faults; each directive's final status and its
 *    last run's status and outcome are recorded;
 * 2. fault: the same documents as new directives, while the worker is
 *    SIGKILLed at random moments (1.5–5 s after each new worker is ready)
 *    and started again at once, until every loop has ended.
 *
 * Directives that wait at the approval gate (every type but noop, under the
 * default policy) are approved as they reach it, in both phases; a try that
 * fails because no worker runs is simply made again.
 *
 * Proven: every directive ends exactly as it did without faults; no ledger
 * reason or run message blames a timebox (a dead worker is `lost`, not over
 * its timebox); no directive has two runs for one attempt; every `lost` run
 * is followed by another attempt (all these modules are retry-safe); no run
 * is `canceled` (nobody aborts). Without faults, no run is `lost` and each
 * throwing directive makes all 4 attempts (the worker's variable is honoured).
 *
 * The seed is printed. Replay one with
 * `KEEL_CRASH_SEED=1234 deno test -P=test tests/reliability_random_crash_test.ts`:
 * the documents and the kill intervals repeat; where a kill lands depends on
 * timing, so a replay is close to, not identical with, the original.
 */
import { assert, assertEquals } from "@std/assert";
import type { Sql } from "../src/db/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { type LoopHarness, runsOf, startLoopHarness } from "./_loop.ts";
import { killWorker, spawnWorker, workerEnv, type WorkerProcess } from "./_worker_process.ts";

const DIRECTIVES = 30;
const MAX_ATTEMPTS = 4;
const CONTROL_MS = 4 * 60_000;
const FAULT_MS = 6 * 60_000;

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a directive asks for, independent of the phase it is submitted in. */
interface Spec {
  readonly type: "noop" | "echo" | "fail_intentionally";
  readonly payload: Record<string, unknown>;
  /** Within the default policy's ceiling for the type (1 USD noop, 10 USD the others). */
  readonly budget: string;
}

function buildSpecs(rand: () => number): Spec[] {
  const int = (max: number) => Math.floor(rand() * (max + 1));
  const usd = (ceilingCents: number) => ((1 + int(ceilingCents - 1)) / 100).toFixed(2);
  return Array.from({ length: DIRECTIVES }, (_, i): Spec => {
    const pick = rand();
    if (pick < 0.4) return { type: "noop", payload: { sleep_ms: int(1500) }, budget: usd(100) };
    if (pick < 0.7) {
      return {
        type: "echo",
        payload: { message: `random crash #${i}`, delay_ms: int(1000) },
        budget: usd(1000),
      };
    }
    const mode = pick < 0.85 ? "failure" : "error";
    return { type: "fail_intentionally", payload: { mode }, budget: usd(1000) };
  });
}

function documentOf(spec: Spec, i: number, tag: string): Record<string, unknown> {
  return echoDocument({
    type: spec.type,
    objective: `Random crash drill ${tag}, directive #${i} (${spec.type})`,
    budget: { amount: spec.budget, currency: "USD" },
    payload: spec.payload,
    idempotency_key: `random-crash-${tag}-${i}`,
  });
}

const describe = (spec: Spec) => `${spec.type} ${JSON.stringify(spec.payload)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function submitAll(h: LoopHarness, specs: Spec[], tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const submitted = await submitAndStart(h.sql, h.target, {
      document: documentOf(spec, i, tag),
      schema: builtinSchema(),
    });
    assert(submitted.created, `directive #${i} of ${tag} was new`);
    assertEquals(submitted.startError, undefined, `the loop of #${i} (${tag}) started`);
    ids.push(submitted.directive.id);
  }
  return ids;
}

async function unfinished(sql: Sql, ids: string[]): Promise<{ id: string; status: string }[]> {
  return [
    ...await sql<{ id: string; status: string }[]>`
      SELECT id, status FROM directives
       WHERE id = ANY(${ids}::uuid[]) AND status NOT IN ('complete', 'blocked', 'aborted')`,
  ];
}

/** The unfinished directives among `ids`, one line each with its runs. */
async function report(h: LoopHarness, ids: string[], specs: Spec[]): Promise<string> {
  const lines = await Promise.all((await unfinished(h.sql, ids)).map(async ({ id, status }) => {
    const i = ids.indexOf(id);
    const runs = (await runsOf(h.sql, id)).map((r) => `${r.attempt}:${r.status}`);
    return `#${i} ${id} ${describe(specs[i]!)}: ${status}, runs [${runs.join(", ")}]`;
  }));
  return lines.join("\n");
}

/**
 * Approves directives as they reach the gate (every type but noop waits
 * there under the default policy), until `stop()`: each try
 * queries the loop and sends the Update; a try that fails (no worker runs, or
 * the worker died under it) is simply made again on a later tick.
 */
function startApprover(h: LoopHarness, ids: string[]): { stop(): void } {
  let running = true;
  const inFlight = new Set<string>();
  async function approve(id: string): Promise<void> {
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    if ((await handle.query(statusQuery)).phase !== "awaiting_approval") return;
    await handle.executeUpdate(approveUpdate, {
      args: [{ actor: "qa", reason: "random crash drill" }],
    });
  }
  (async () => {
    while (running) {
      const waiting = await h.sql<{ id: string }[]>`
        SELECT d.id FROM directives d
         WHERE d.id = ANY(${ids}::uuid[]) AND d.status = 'proposed'
           AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.directive_id = d.id)`
        .catch(() => []);
      for (const { id } of waiting) {
        if (inFlight.has(id)) continue;
        inFlight.add(id);
        approve(id).catch(() => {}).finally(() => inFlight.delete(id));
      }
      await sleep(500);
    }
  })();
  return { stop: () => void (running = false) };
}

/** Each directive's outcome: its status, and its last run's status and outcome. */
async function outcomesOf(h: LoopHarness, ids: string[]): Promise<string[]> {
  const outcomes: string[] = [];
  for (const id of ids) {
    const [row] = await h.sql<{ status: string }[]>`SELECT status FROM directives WHERE id = ${id}`;
    const last = (await runsOf(h.sql, id)).at(-1);
    const loop = await waitForLoop(h.client, id);
    assertEquals(loop.status, row?.status, `the loop of ${id} returned the stored status`);
    outcomes.push(`${row?.status}; last run ${last?.status ?? "none"} ${last?.outcome ?? "-"}`);
  }
  return outcomes;
}

/** Lines of the workers' logs that name any of `ids`. */
function logsAbout(workers: WorkerProcess[], ids: string[]): string {
  return workers.flatMap((w, n) =>
    w.lines.filter((line) => ids.some((id) => line.includes(id))).map((line) => `[w${n}] ${line}`)
  ).join("\n");
}

Deno.test({
  name: "random SIGKILLs of the worker change no directive's outcome",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const fromEnv = Deno.env.get("KEEL_CRASH_SEED");
    const seed = fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
    assert(Number.isSafeInteger(seed), `KEEL_CRASH_SEED must be an integer, got "${fromEnv}"`);
    console.log(`random crash: seed ${seed} (replay with KEEL_CRASH_SEED=${seed})`);
    const rand = mulberry32(seed);
    const specs = buildSpecs(rand);

    const h = await startLoopHarness({ noWorker: true });
    const env = { ...workerEnv(h), KEEL_MAX_EXECUTION_ATTEMPTS: String(MAX_ATTEMPTS) };
    const workers: WorkerProcess[] = [];
    const spawn = async () => {
      const worker = await spawnWorker(env);
      workers.push(worker);
      return worker;
    };
    let worker = await spawn();
    try {
      // 1. Control: no faults.
      const controlIds = await submitAll(h, specs, `${seed}-control`);
      const controlApprover = startApprover(h, controlIds);
      const deadline = Date.now() + CONTROL_MS;
      while ((await unfinished(h.sql, controlIds)).length > 0) {
        if (Date.now() > deadline) {
          controlApprover.stop();
          throw new Error(
            `seed ${seed}: control phase unfinished after ${CONTROL_MS / 1000} s:\n` +
              await report(h, controlIds, specs),
          );
        }
        await sleep(250);
      }
      controlApprover.stop();
      const control = await outcomesOf(h, controlIds);
      await killWorker(worker);
      // Checked at the end, so that the fault phase runs and reports either way.
      const controlProblems: string[] = [];
      for (const [i, spec] of specs.entries()) {
        const runs = await runsOf(h.sql, controlIds[i]!);
        for (const run of runs.filter((r) => r.status === "lost")) {
          controlProblems.push(
            `#${i} ${controlIds[i]} attempt ${run.attempt} lost: ${run.message}`,
          );
        }
        if (spec.payload.mode === "error" && runs.length !== MAX_ATTEMPTS) {
          controlProblems.push(`#${i} ${controlIds[i]} (error) made ${runs.length} attempts`);
        }
      }

      // 2. Faults: SIGKILL the worker at random moments until every loop has ended.
      worker = await spawn();
      const started = Date.now();
      const faultIds = await submitAll(h, specs, `${seed}-fault`);
      const approver = startApprover(h, faultIds);
      let kills = 0;
      try {
        while ((await unfinished(h.sql, faultIds)).length > 0) {
          const killAt = Date.now() + 1500 + Math.floor(rand() * 3500);
          while (Date.now() < killAt && (await unfinished(h.sql, faultIds)).length > 0) {
            await sleep(250);
          }
          const left = await unfinished(h.sql, faultIds);
          if (left.length === 0) break;
          if (Date.now() - started > FAULT_MS) {
            throw new Error(
              `seed ${seed}: ${left.length} directive(s) unfinished after ${FAULT_MS / 1000} s ` +
                `and ${kills} kills:\n${await report(h, faultIds, specs)}`,
            );
          }
          await killWorker(worker);
          kills++;
          worker = await spawn();
        }
      } finally {
        approver.stop();
      }
      const fault = await outcomesOf(h, faultIds);

      // 3. Compare.
      const all = [...controlIds, ...faultIds];
      const changed = specs.flatMap((_, i) => control[i] === fault[i] ? [] : [i]);
      const changes = changed.map((i) =>
        `#${i} ${faultIds[i]} ${describe(specs[i]!)}: control "${control[i]}", fault "${fault[i]}"`
      );
      const lost = await h.sql<{ directive_id: string; attempt: number }[]>`
        SELECT directive_id, attempt FROM execution_runs
         WHERE directive_id = ANY(${faultIds}::uuid[]) AND status = 'lost'`;
      console.log(
        `random crash: seed ${seed}, ${specs.length} directives, ${kills} kills, ` +
          `${lost.length} lost runs, ${changes.length} outcome changes ` +
          `(control phase: ${controlProblems.length} problems)`,
      );
      // Nobody aborts anything here: a canceled run means a cancellation no one asked for.
      const canceled = await h.sql<{ directive_id: string; attempt: number; message: string }[]>`
        SELECT directive_id, attempt, message FROM execution_runs
         WHERE directive_id = ANY(${all}::uuid[]) AND status = 'canceled'`;
      const timebox = await h.sql<{ directive_id: string; text: string }[]>`
        SELECT directive_id, reason AS text FROM directive_transitions
         WHERE directive_id = ANY(${all}::uuid[]) AND reason ILIKE '%timebox%'
        UNION ALL
        SELECT directive_id, message FROM execution_runs
         WHERE directive_id = ANY(${all}::uuid[]) AND message ILIKE '%timebox%'`;
      const twice = await h.sql<{ directive_id: string; attempt: number }[]>`
        SELECT directive_id, attempt FROM execution_runs
         WHERE directive_id = ANY(${all}::uuid[])
         GROUP BY directive_id, attempt HAVING count(*) > 1`;
      const unfollowed: { directive_id: string; attempt: number }[] = [];
      for (const run of lost) {
        const runs = await runsOf(h.sql, run.directive_id);
        // The last allowed attempt has no successor; that ends as an outcome change.
        if (run.attempt < MAX_ATTEMPTS && !runs.some((r) => r.attempt === run.attempt + 1)) {
          unfollowed.push(run);
        }
      }
      const suspects = [
        ...changed.map((i) => faultIds[i]!),
        ...timebox.map((r) => r.directive_id),
        ...unfollowed.map((r) => r.directive_id),
        ...canceled.map((r) => r.directive_id),
        ...controlProblems.map((p) => p.split(" ")[1]!),
      ];
      const failures = Object.entries({
        "outcomes changed under faults": changes,
        "a ledger reason or run message mentions a timebox": timebox.map((r) => JSON.stringify(r)),
        "two runs for one attempt": twice.map((r) => JSON.stringify(r)),
        "a lost run was not followed by another attempt": unfollowed.map((r) => JSON.stringify(r)),
        "runs canceled though nobody aborted": canceled.map((r) => JSON.stringify(r)),
        "the control phase, without faults": controlProblems,
      }).filter(([, items]) => items.length > 0).map(([what, items]) =>
        `${what} (${items.length}):\n  ${items.join("\n  ")}`
      );
      if (suspects.length > 0) {
        console.log(
          `worker log lines about the directives in question:\n${logsAbout(workers, suspects)}`,
        );
      }
      assert(failures.length === 0, `seed ${seed}:\n${failures.join("\n")}`);
    } finally {
      await killWorker(worker);
      await h.stop();
    }
  },
});
