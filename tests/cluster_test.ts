/**
 * Keel in its deployment shape (`scripts/cluster.sh`, docs/deploy.md): a
 * Temporal server 1.29 on PostgreSQL, two workers, two API servers and Jaeger,
 * started as a user starts them. Directives go in through both API servers;
 * the Temporal history says which worker ran each task; traces are read back
 * from Jaeger's HTTP API; one worker is SIGKILLed mid-run and the Temporal
 * server is restarted mid-run. Effects are counted by a witness outside every
 * process: each directive's `http_request` reaches it with the directive's
 * `Idempotency-Key`.
 */
import { assert, assertEquals } from "@std/assert";
import { type Cluster, psqlAdmin, startCluster, until } from "./_cluster.ts";
import { startWitness, type Witness } from "./_witness.ts";

const ENDED = new Set(["complete", "failed", "aborted", "rejected", "blocked", "expired"]);

function noop(tag: string): Record<string, unknown> {
  return {
    type: "noop",
    issued_by: "agent:cluster-test",
    objective: `Run a no-op on the cluster (${tag})`,
    scope: ["keel cluster"],
    success_metrics: ["the directive reaches complete"],
    budget: { amount: "0.01", currency: "USD" },
    timebox: "5m",
    idempotency_key: `cluster/${tag}`,
  };
}

function call(witness: Witness, path: string): Record<string, unknown> {
  return {
    type: "http_request",
    issued_by: "agent:cluster-test",
    objective: `Call the witness at ${path}`,
    success_metrics: ["the witness answers"],
    budget: { amount: "0.10", currency: "USD" },
    timebox: "5m",
    idempotency_key: `cluster${path}`,
    payload: { url: `${witness.url}${path}` },
  };
}

async function submit(c: Cluster, server: number, document: Record<string, unknown>) {
  const { status, body } = await c.api(server, "agent", "/api/directives", { body: document });
  assertEquals(status, 201, JSON.stringify(body));
  return String((body.directive as Record<string, unknown>).id);
}

/** `GET /api/directives/{id}` with the directive's `status` and `trace_id` lifted to the top. */
async function detail(c: Cluster, id: string): Promise<Record<string, unknown>> {
  const { status, body } = await c.api(0, "operator", `/api/directives/${id}`);
  assertEquals(status, 200, JSON.stringify(body));
  const directive = body.directive as Record<string, unknown>;
  return { ...body, status: directive.status, trace_id: directive.trace_id };
}

async function approve(c: Cluster, server: number, id: string): Promise<void> {
  await until(
    async () => (await detail(c, id)).status === "proposed" || undefined,
    `${id} proposed`,
  );
  const { status, body } = await c.api(server, "operator", `/api/directives/${id}/approve`, {
    body: { reason: "cluster test" },
  });
  assertEquals(status, 200, JSON.stringify(body));
}

/**
 * Submits `count` calls under `prefix` through both API servers, has the
 * operator approve each, and waits until the witness holds every one.
 */
async function heldCalls(
  c: Cluster,
  witness: Witness,
  prefix: string,
  count: number,
): Promise<string[]> {
  witness.hold(prefix);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(await submit(c, i % 2, call(witness, `${prefix}${c.prefix}${i}`)));
  }
  for (const [i, id] of ids.entries()) await approve(c, i % 2, id);
  await until(
    () => Promise.resolve(witness.seen(prefix).length >= count || undefined),
    `${count} calls held`,
  );
  return ids;
}

async function ended(c: Cluster, ids: readonly string[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  await until(
    async () => {
      for (const id of ids) {
        if (ENDED.has(statuses.get(id) ?? "")) continue;
        statuses.set(id, String((await detail(c, id)).status));
      }
      return [...statuses.values()].every((s) => ENDED.has(s)) || undefined;
    },
    `${ids.length} directives to end`,
    240_000,
  );
  return statuses;
}

/** The identities of the workers that took each activity and workflow task of a directive. */
async function workersOf(c: Cluster, id: string): Promise<{ activity: string[]; task: string[] }> {
  const client = await c.temporal();
  const workflowId = String((await detail(c, id)).workflow_id);
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const activity: string[] = [];
  const task: string[] = [];
  for (const event of history.events ?? []) {
    const started = event.activityTaskStartedEventAttributes?.identity;
    if (started) activity.push(started);
    const completed = event.workflowTaskCompletedEventAttributes?.identity;
    if (completed) task.push(completed);
  }
  return { activity, task };
}

Deno.test({
  name: "cluster: Temporal on PostgreSQL, two workers, two API servers, Jaeger",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const c = await startCluster(2);
    const witness = startWitness();
    try {
      const state = await c.state();
      const workerOf = (identity: string) => {
        const index = state.worker_pids.findIndex((pid) => identity.startsWith(`${pid}@`));
        assert(index >= 0, `identity ${identity} is none of the workers ${state.worker_pids}`);
        return `worker-${index + 1}`;
      };

      await t.step("Temporal's databases belong to its own role, not a superuser", async () => {
        assertEquals(state.temporal_role, `${c.prefix}temporal`);
        assertEquals(
          await psqlAdmin(
            `SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = '${state.temporal_role}'`,
          ),
          "f|f|f",
        );
        assertEquals(
          await psqlAdmin(
            `SELECT string_agg(datname || ':' || pg_get_userbyid(datdba), ',' ORDER BY datname)
               FROM pg_database WHERE datname LIKE '${c.prefix}temporal%'`,
          ),
          state.temporal_databases.map((db) => `${db}:${state.temporal_role}`).join(","),
        );
        // The server holds its connections as that role, and none as a superuser.
        const users = await psqlAdmin(
          `SELECT DISTINCT usename FROM pg_stat_activity WHERE datname LIKE '${c.prefix}temporal%'`,
        );
        assertEquals(users, state.temporal_role);
        for (const url of state.api_urls) {
          const ready = await fetch(`${url}/readyz`);
          await ready.body?.cancel();
          assertEquals(ready.status, 200, url);
        }
      });

      const spread: string[] = [];
      await t.step("directives through both API servers run across both workers", async () => {
        for (let i = 0; i < 24; i++) {
          spread.push(await submit(c, i % 2, noop(`${c.prefix}spread-${i}`)));
        }
        const statuses = await ended(c, spread);
        const notComplete = [...statuses].filter(([, status]) => status !== "complete");
        for (const [id] of notComplete) console.log(id, JSON.stringify(await detail(c, id)));
        assertEquals(notComplete, []);
        const tally = new Map<string, { activities: number; tasks: number }>();
        for (const id of spread) {
          const { activity, task } = await workersOf(c, id);
          assertEquals(activity.length, 1, `one regular activity (the run) for ${id}`);
          for (const identity of activity) {
            const entry = tally.get(workerOf(identity)) ?? { activities: 0, tasks: 0 };
            tally.set(workerOf(identity), { ...entry, activities: entry.activities + 1 });
          }
          for (const identity of task) {
            const entry = tally.get(workerOf(identity)) ?? { activities: 0, tasks: 0 };
            tally.set(workerOf(identity), { ...entry, tasks: entry.tasks + 1 });
          }
        }
        console.log("worker    activities  workflow tasks");
        for (const [worker, n] of [...tally].sort()) {
          console.log(
            `${worker}  ${String(n.activities).padStart(10)}  ${String(n.tasks).padStart(14)}`,
          );
        }
        assertEquals([...tally.keys()].sort(), ["worker-1", "worker-2"]);
      });

      await t.step("each directive's trace is in Jaeger, from the API to SQL", async () => {
        const id = spread[0]!;
        const traceId = String((await detail(c, id)).trace_id);
        assert(/^[0-9a-f]{32}$/.test(traceId), `trace id ${traceId}`);
        type Span = {
          spanID: string;
          operationName: string;
          processID: string;
          references: { refType: string; spanID: string }[];
        };
        const trace = await until(
          async () => {
            const response = await fetch(`${state.jaeger_url}/api/traces/${traceId}`);
            const body = await response.json();
            const found = body.data?.[0] as
              | { spans: Span[]; processes: Record<string, { serviceName: string }> }
              | undefined;
            return found?.spans.some((s) => s.operationName === "RunActivity:executeRun")
              ? found
              : undefined;
          },
          "the directive's trace in Jaeger",
          60_000,
        );
        const names = trace.spans.map((s) => s.operationName);
        const services = new Set(Object.values(trace.processes).map((p) => p.serviceName));
        console.log(`trace ${traceId}: ${trace.spans.length} spans from ${[...services]}`);
        console.log(`  ${[...new Set(names)].sort().join(", ")}`);
        assert(services.has("keel-api") && services.has("keel-worker"), [...services].join());
        const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
        const parentOf = (s: Span) =>
          byId.get(s.references.find((r) => r.refType === "CHILD_OF")?.spanID ?? "");
        const loop = trace.spans.find((s) => s.operationName === "RunWorkflow:directiveWorkflowV3");
        assert(loop, "the loop's workflow span");
        assertEquals(parentOf(loop)?.operationName, "StartWorkflow:directiveWorkflowV3");
        const run = trace.spans.find((s) => s.operationName === "RunActivity:executeRun")!;
        let ancestor = parentOf(run);
        while (ancestor && ancestor !== loop) ancestor = parentOf(ancestor);
        assert(ancestor === loop, "the run is under the loop");
        const sqlUnderRun = trace.spans.filter((s) => parentOf(s) === run);
        assert(sqlUnderRun.length >= 2, `SQL spans under the run: ${sqlUnderRun.length}`);
        assert(names.includes("INSERT directives"), "the submit's INSERT is traced");
      });

      await t.step("SIGKILL one worker mid-run: the other finishes every directive", async () => {
        // Every module is mid-request, held by the witness, on one worker or the other.
        const ids = await heldCalls(c, witness, "/kill/", 6);
        // The worker holding the most of them is the one killed.
        const client = await c.temporal();
        const holders = new Map<string, string>();
        for (const id of ids) {
          const workflowId = String((await detail(c, id)).workflow_id);
          const { raw } = await client.workflow.getHandle(workflowId).describe();
          const identity = raw.pendingActivities?.[0]?.lastWorkerIdentity;
          assert(identity, `${id} has a pending run`);
          holders.set(id, workerOf(identity));
        }
        const held = (worker: string) => [...holders.values()].filter((w) => w === worker).length;
        const victimIndex = held("worker-1") >= held("worker-2") ? 0 : 1;
        const victim = `worker-${victimIndex + 1}`;
        Deno.kill(state.worker_pids[victimIndex]!, "SIGKILL");
        console.log(`SIGKILLed ${victim} holding ${held(victim)} of the 6 calls`);
        witness.release("/kill/");
        const statuses = await ended(c, ids);
        assertEquals([...statuses.values()], ids.map(() => "complete"));
        // One downstream key per directive, whichever attempt sent it.
        const keys = new Set(witness.seen("/kill/").map((e) => e.key));
        assertEquals(keys.size, ids.length);
        // Each run the killed worker held is recorded lost and run again; no other is.
        for (const id of ids) {
          const runs = (await detail(c, id)).runs as { attempt: number; status: string }[];
          const expected = holders.get(id) === victim ? ["lost", "completed"] : ["completed"];
          assertEquals(runs.map((r) => r.status), expected, id);
        }
      });

      await t.step("the Temporal server restarted mid-run: nothing lost or doubled", async () => {
        const ids = await heldCalls(c, witness, "/restart/", 4);
        // The API servers and workers hold native connections; this test's own goes first.
        await c.closeTemporal();
        const before = (await c.state()).temporal_pid;
        const restart = await new Deno.Command("bash", {
          args: ["scripts/cluster.sh", "restart-temporal"],
          cwd: new URL("../", import.meta.url).pathname,
          env: { KEEL_CLUSTER_DIR: c.dir },
        }).output();
        assertEquals(restart.code, 0, new TextDecoder().decode(restart.stderr));
        await until(async () => {
          const now = (await c.state()).temporal_pid;
          return now !== before || undefined;
        }, "the Temporal server to come back");
        // Directives submitted while it came back are kept and run too.
        ids.push(await submit(c, 0, noop(`${c.prefix}after-restart`)));
        witness.release("/restart/");
        const statuses = await ended(c, ids);
        assertEquals([...statuses.values()], ids.map(() => "complete"));
        const effects = witness.seen("/restart/");
        assertEquals(new Set(effects.map((e) => e.key)).size, 4);
        assertEquals(effects.length, 4, "each call reached the witness once");
        for (const id of ids) {
          const runs = (await detail(c, id)).runs as { status: string }[];
          assertEquals(runs.map((r) => r.status), ["completed"], id);
        }
      });
    } finally {
      await witness.stop();
      await c.stop();
    }
  },
});
