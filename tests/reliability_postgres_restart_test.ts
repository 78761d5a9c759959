/**
 * Postgres crashes mid-run (`pg_ctl stop -m immediate` on a dedicated
 * cluster) and comes back. While it is down a loop needs its policy step, an
 * approval needs storing, one module ends and its ending needs recording, and
 * another module keeps running; their steps fail or wait, retry, and succeed
 * once it is back. Every directive completes with each effect exactly once,
 * counted by the witness the modules call, and the histories show the
 * retries happened.
 *
 * Nothing waits on a clock. The modules are `http_request` calls to a
 * witness that answers each only when told, so one module ends while
 * Postgres is down and the other after it is back; Postgres comes back only
 * once each step that needs it has failed at least once (the attempt
 * Temporal reports for the pending activity) and the worker has said that
 * the module that ended is waiting for it (its log).
 */
import { testSigner } from "./_decisions.ts";
import { assert, assertEquals } from "@std/assert";
import { Client } from "@temporalio/client";
import { NativeConnection } from "@temporalio/worker";
import { connect, migrate, readMigrations, type Sql } from "../src/db/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { startLoop, waitForLoop } from "../src/loop/mod.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, runsOf } from "./_loop.ts";
import { startPgCluster } from "./_pg_cluster.ts";
import { assertCompletedOnce, within } from "./_reliability.ts";
import { startDevServer } from "./_temporal.ts";
import { startWitness } from "./_witness.ts";
import { reconcilerWorkflowId } from "../src/worker.ts";
import { killWorker, spawnWorker, type WorkerProcess } from "./_worker_process.ts";

const schema = builtinSchema();

/**
 * The highest attempt at which `activity` ran in a workflow's history: a
 * scheduled activity's started event, or a local activity's marker.
 */
async function maxAttempt(client: Client, workflowId: string, activity: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  let attempt = 0;
  for (const event of events) {
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.markerName === "core_local_activity"
      ? marker.details?.["data"]?.payloads?.[0]?.data
      : undefined;
    if (!data) continue;
    const ran = JSON.parse(new TextDecoder().decode(data));
    if (ran.activity_type === activity) attempt = Math.max(attempt, Number(ran.attempt));
  }
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== activity) continue;
    const started = events.find((e) =>
      Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1) === Number(event.eventId)
    );
    attempt = Math.max(attempt, started?.activityTaskStartedEventAttributes?.attempt ?? 0);
  }
  return attempt;
}

/**
 * Waits until the worker has logged a failure of the local activity
 * `activity` of a directive's loop (it is retried in the worker until
 * Postgres answers).
 */
async function failedOnce(
  worker: WorkerProcess,
  directiveId: string,
  activity: string,
): Promise<void> {
  const workflowId = directiveWorkflowId(directiveId);
  await eventually(
    () =>
      Promise.resolve(worker.lines.some((line) => {
        if (!line.startsWith("{")) return false;
        const record = JSON.parse(line);
        return record.message === "Activity failed" && record.activityType === activity &&
          record.workflowId === workflowId;
      })),
    `${activity} of ${directiveId} to fail while Postgres is down`,
  );
}

/** Waits until the worker logs that a run of the directive waits for Postgres at `step`. */
async function waitingFor(worker: WorkerProcess, directiveId: string, step: string): Promise<void> {
  await eventually(
    () =>
      Promise.resolve(worker.lines.some((line) => {
        if (!line.startsWith("{")) return false;
        const record = JSON.parse(line);
        return record.message === "Postgres is unreachable: the run waits for it" &&
          record.directive_id === directiveId && record.step === step;
      })),
    `the worker to wait for Postgres to ${step} of ${directiveId}`,
  );
}

async function atGate(client: Client, id: string): Promise<void> {
  await eventually(
    async () =>
      (await client.workflow.getHandle(directiveWorkflowId(id)).query(statusQuery)).phase ===
        "awaiting_approval",
    `${id} at the gate`,
  );
}

async function migratedKeel(adminUrl: string): Promise<string> {
  const keel = new URL(adminUrl);
  keel.pathname = "/keel";
  const admin = connect(adminUrl, { max: 1 });
  await admin`CREATE DATABASE keel`;
  await admin.end();
  const owner = connect(keel.toString(), { max: 1 });
  await migrate(owner, await readMigrations("migrations"));
  await owner.end();
  keel.username = "keel_app";
  return keel.toString();
}

async function submit(sql: Sql, overrides: Record<string, unknown>): Promise<string> {
  return (await submitDirective(sql, echoDocument(overrides), { schema })).directive.id;
}

Deno.test({
  name: "Postgres crashes mid-run and comes back: activities retry, nothing lost or doubled",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cluster = await startPgCluster();
    const server = await startDevServer();
    const witness = startWitness();
    witness.hold("/running");
    witness.hold("/ending");
    const appUrl = await migratedKeel(cluster.adminUrl);
    const sql = connect(appUrl, { max: 2 });
    const connection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection, interceptors: { workflow: [await testSigner()] } });
    const target = { client, taskQueue: `pg-${crypto.randomUUID()}`, maxAttempts: 2 };
    const worker = await spawnWorker({
      DATABASE_URL: appUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: target.taskQueue,
      KEEL_LOG_LEVEL: "info",
      // One reconciler pass at start, then none: this test starts its loops.
      KEEL_RECONCILE_INTERVAL_SECONDS: "86400",
    });
    try {
      const reconciler = client.workflow.getHandle(reconcilerWorkflowId(target.taskQueue));
      await eventually(async () => {
        const history = await reconciler.fetchHistory();
        return (history.events ?? []).some((e) => e.activityTaskCompletedEventAttributes != null);
      }, "the reconciler's first pass");
      const call = (path: string) => ({
        type: "http_request",
        objective: `Call the witness at ${path}`,
        success_metrics: ["the witness answers"],
        budget: { amount: "0.10", currency: "USD" },
        payload: { url: `${witness.url}${path}` },
      });
      // A module that runs across the outage: answered once Postgres is back.
      const running = await submit(sql, call("/running"));
      // A module that ends while Postgres is down: answered during the outage,
      // its ending is recorded once Postgres is back, and it does not run again.
      const ending = await submit(sql, call("/ending"));
      // A loop waiting at the gate, approved during the outage.
      const gate = await submit(sql, {});
      // A loop started during the outage: its policy step cannot run yet.
      const late = await submit(sql, {
        type: "noop",
        budget: { amount: "0.10", currency: "USD" },
        payload: {},
      });
      for (const id of [running, ending, gate]) {
        await startLoop(target, id);
        await atGate(client, id);
      }
      for (const id of [running, ending]) {
        await client.workflow.getHandle(directiveWorkflowId(id)).executeUpdate(approveUpdate, {
          args: [{ actor: "qa", reason: "before the crash" }],
        });
      }
      // Each module has made its call and waits for the answer: its run is claimed.
      await eventually(
        () => Promise.resolve(["/running", "/ending"].every((p) => witness.seen(p).length > 0)),
        "both modules to call the witness",
      );
      for (const id of [running, ending]) {
        assertEquals((await runsOf(sql, id)).map((r) => r.status), ["running"]);
      }

      await cluster.crash();
      await startLoop(target, late);
      const approval = client.workflow.getHandle(directiveWorkflowId(gate)).executeUpdate(
        approveUpdate,
        { args: [{ actor: "qa", reason: "during the outage" }] },
      );
      witness.release("/ending");
      await failedOnce(worker, late, "admitDirective");
      await failedOnce(worker, gate, "recordDecision");
      await waitingFor(worker, ending, "record the ending");
      await cluster.start();
      witness.release("/running");
      assertEquals((await approval).decision, "approved");

      const ids = { running, ending, gate, late };
      const results = await within(
        Promise.all(Object.values(ids).map((id) => waitForLoop(client, id))),
        90_000,
        "every loop to end after Postgres came back",
      );
      assertEquals(results.map((r) => r.status), ["complete", "complete", "complete", "complete"]);
      for (const [label, id] of Object.entries(ids)) {
        await assertCompletedOnce(sql, id, { artifacts: label === "late" ? 0 : 1, label });
      }
      // Each module called the witness once: neither was run again.
      assertEquals(witness.effects.map((e) => e.path).sort(), ["/ending", "/running"]);
      // The steps that needed Postgres while it was down were retried.
      const policyAttempts = await maxAttempt(
        client,
        directiveWorkflowId(late),
        "admitDirective",
      );
      const decisionAttempts = await maxAttempt(
        client,
        directiveWorkflowId(gate),
        "recordDecision",
      );
      assert(policyAttempts > 1, `policy step ran ${policyAttempts} time(s)`);
      assert(decisionAttempts > 1, `decision step ran ${decisionAttempts} time(s)`);
    } catch (error) {
      console.error(`worker output, last 40 lines:\n${worker.lines.slice(-40).join("\n")}`);
      throw error;
    } finally {
      await killWorker(worker);
      await witness.stop();
      await connection.close();
      await sql.end({ timeout: 1 }).catch(() => {});
      await server.stop();
      await cluster.destroy();
    }
  },
});
