/**
 * At most one effect per attempt, counted by a witness outside the worker.
 * `http_request` directives call a loopback witness server that records every
 * request it receives with its `Idempotency-Key`. The worker process (run as
 * `deno task worker` runs it) is SIGKILLed at a randomized moment in one of
 * three places — before the module's effect (its first hop is held by the
 * witness), during it (the witness has recorded the effect and holds the
 * answer), or just after it (the answer was sent) — 20 directives of each
 * method per scenario. A new worker takes over.
 *
 * What must hold, per directive: a POST (not retry-safe) reaches the witness
 * at most once, and when its attempt was lost the directive is aborted with a
 * reason naming the lost attempt, never a timebox; a PUT (retry-safe) ends
 * complete, and every request it made carries the same key.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, type LoopHarness, runsOf, startLoopHarness } from "./_loop.ts";
import { startWitness, type Witness } from "./_witness.ts";
import { killWorker, spawnWorker, workerEnv, type WorkerProcess } from "./_worker_process.ts";

const PER_METHOD = Number(Deno.env.get("KEEL_WITNESS_PER_METHOD") ?? 20);
const schema = builtinSchema();
type Scenario = "before" | "during" | "after";

interface Subject {
  readonly id: string;
  readonly method: "POST" | "PUT";
  readonly path: string;
}

async function submitAll(h: LoopHarness, witness: Witness, scenario: Scenario): Promise<Subject[]> {
  const subjects: Subject[] = [];
  for (const method of ["POST", "PUT"] as const) {
    for (let i = 0; i < PER_METHOD; i++) {
      const path = `/${scenario}/${method}/${i}`;
      const first = scenario === "before" ? `/hop${path}` : `/effect${path}`;
      const { directive } = await submitAndStart(h.sql, h.target, {
        document: echoDocument({
          type: "http_request",
          objective: `Call the witness (${scenario} ${method} ${i})`,
          constraints: [],
          success_metrics: ["the witness answers"],
          budget: { amount: "0.10", currency: "USD" },
          payload: { url: `${witness.url}${first}`, method, body: "x" },
        }),
        schema,
      });
      subjects.push({ id: directive.id, method, path });
    }
  }
  await Promise.all(subjects.map(async ({ id }) => {
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    await eventually(
      async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
      `directive ${id} at the gate`,
      60_000,
    );
    await handle.executeUpdate(approveUpdate, { args: [{ actor: "qa", reason: "witness drill" }] });
  }));
  return subjects;
}

function randomMs(max: number): number {
  return Math.floor(Math.random() * max);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name: "SIGKILL before, during and after a module's effect: the witness counts at most one " +
    "per POST, one key per PUT",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const witness = startWitness();
    const h = await startLoopHarness({ noWorker: true });
    let worker: WorkerProcess = await spawnWorker(workerEnv(h));
    const table: string[] = [];
    try {
      for (const scenario of ["before", "during", "after"] as const) {
        const total = 2 * PER_METHOD;
        if (scenario === "before") witness.hold(`/hop/${scenario}/`);
        if (scenario === "during") witness.hold(`/effect/${scenario}/`);
        const subjects = await submitAll(h, witness, scenario);
        const stage = scenario === "before" ? `/hop/${scenario}/` : `/effect/${scenario}/`;
        try {
          await eventually(
            () => Promise.resolve(witness.seen(stage).length >= total),
            `${total} requests at ${stage}`,
            120_000,
          );
        } catch (error) {
          const states = await Promise.all(subjects.map((s) => runsOf(h.sql, s.id)));
          throw new Error(
            `${(error as Error).message}; seen ${witness.seen(stage).length}; runs: ${
              JSON.stringify(states.slice(0, 5))
            }\nworker:\n${worker.lines.slice(-20).join("\n")}`,
          );
        }
        if (scenario === "after") {
          await eventually(
            () => Promise.resolve(witness.answered(stage) >= total),
            `${total} answers from ${stage}`,
            60_000,
          );
        }
        await sleep(randomMs(scenario === "after" ? 150 : 400));
        await killWorker(worker);
        witness.release();
        worker = await spawnWorker(workerEnv(h));
        const results = await Promise.all(subjects.map(async (subject) => {
          const loop = await waitForLoop(h.client, subject.id);
          const effects = witness.effects.filter((e) => e.path === `/effect${subject.path}`);
          const runs = await runsOf(h.sql, subject.id);
          return { subject, loop, effects, runs };
        }));
        for (const method of ["POST", "PUT"] as const) {
          const mine = results.filter((r) => r.subject.method === method);
          const histogram: Record<number, number> = {};
          const outcomes: Record<string, number> = {};
          for (const { subject, loop, effects, runs } of mine) {
            histogram[effects.length] = (histogram[effects.length] ?? 0) + 1;
            outcomes[loop.status] = (outcomes[loop.status] ?? 0) + 1;
            const context = `${scenario} ${method} ${subject.id}: ${JSON.stringify(runs)}`;
            assert(!/timebox/i.test(loop.reason), `a lost worker is not a timebox: ${context}`);
            const lost = runs.filter((run) => run.status === "lost");
            if (method === "POST") {
              assert(effects.length <= 1, `${effects.length} effects: ${context}`);
              assertEquals(runs.length, 1, `a POST is never attempted twice: ${context}`);
              if (lost.length > 0) {
                assertEquals(loop.status, "aborted", context);
                assertStringIncludes(loop.reason, "attempt 1 lost", context);
              } else {
                assertEquals([loop.status, runs[0]?.status], ["complete", "completed"], context);
              }
            } else {
              assertEquals(loop.status, "complete", context);
              assert(effects.length >= 1, `no effect: ${context}`);
              assertEquals(
                new Set(effects.map((effect) => effect.key)).size,
                1,
                `every repeat carries the same key: ${context}`,
              );
              assertEquals(effects[0]?.key, `keel-directive-${subject.id}`, context);
            }
          }
          table.push(
            `${scenario.padEnd(6)} ${method.padEnd(4)} effects per directive ${
              JSON.stringify(histogram)
            } outcomes ${JSON.stringify(outcomes)}`,
          );
        }
      }
      console.log(`witness matrix (${PER_METHOD} directives per row):\n${table.join("\n")}`);
    } finally {
      await killWorker(worker);
      await h.stop();
      await witness.stop();
    }
  },
});
