/**
 * Upgrades that strand nothing. A directive waits at the approval gate on the
 * code released before the phase memo; the worker is replaced by one running
 * the current code, where the memo is (a) guarded by `patched()` in
 * `directiveWorkflow` and (b) unconditional in the new type
 * `directiveWorkflowV2`; a loop opens as `directiveWorkflowV3`, the type every
 * new loop opens as; the worker restarts once more; every waiting directive is
 * approved and completes. Histories of both code versions replay.
 *
 * With KEEL_CAPTURE_HISTORIES=1 the histories are written to
 * tests/histories/upgrade/ (the committed ones are replayed either way).
 */
import { assert, assertEquals } from "@std/assert";
import type { Client } from "@temporalio/client";
import { historyToJSON } from "@temporalio/common/lib/proto-utils.js";
import { bundleWorkflowCode, NativeConnection, Worker } from "@temporalio/worker";
import { createActivities } from "../src/activities/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { defaultEvaluator } from "../src/evaluation/mod.ts";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { confineBundler } from "../src/workflow_bundle/build.ts";
import {
  approveUpdate,
  directiveWorkflowId,
  type LoopResult,
  statusQuery,
} from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { historyFilesIn, replay } from "./_replay.ts";
import {
  eventually,
  ledgerOf,
  type LoopHarness,
  runsOf,
  startLoopHarness,
  testPolicy,
} from "./_loop.ts";

const UPGRADE_HISTORIES = "tests/histories/upgrade";
/** Histories of every path recorded before the sandbox (and the phase memo) existed. */
const PRE_SANDBOX_HISTORIES = "tests/histories/pre_sandbox";
const BEFORE = "tests/fixtures/upgrade/before_workflows.ts";
const CURRENT = "src/workflows/mod.ts";
const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** A worker in this process on an arbitrary workflow bundle (the "old build"). */
async function startBundledWorker(
  h: LoopHarness,
  workflowsPath: string,
): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: h.server.address });
  const worker = await Worker.create({
    connection,
    taskQueue: h.target.taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: new URL(workflowsPath, `file://${Deno.cwd()}/`).pathname,
      webpackConfigHook: confineBundler,
      logger: silent,
    }),
    activities: createActivities({
      sql: h.sql,
      policy: await testPolicy(),
      registry: createRegistry(BUILTIN_MODULES),
      evaluator: defaultEvaluator,
      maxAttempts: h.target.maxAttempts,
      log: createLogger({ level: "warn", service: "old-worker" }),
      artifacts: h.artifacts,
    }),
  });
  const done = worker.run().finally(() => connection.close());
  return {
    async stop() {
      worker.shutdown();
      await done;
    },
  };
}

async function stopHarnessWorker(h: LoopHarness): Promise<void> {
  if (!h.worker) return;
  h.worker.shutdown();
  await h.worker.done;
  h.worker = undefined;
}

async function atGate(client: Client, directiveId: string): Promise<void> {
  const handle = client.workflow.getHandle(directiveWorkflowId(directiveId));
  await eventually(
    async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
    `directive ${directiveId} at the approval gate`,
  );
}

async function phaseMemo(client: Client, directiveId: string): Promise<unknown> {
  const description = await client.workflow.getHandle(directiveWorkflowId(directiveId)).describe();
  return description.memo?.keel_phase;
}

/** Counts the history events that record the patch marker and the memo. */
async function historyMarks(
  client: Client,
  directiveId: string,
): Promise<{ type: string; patchMarkers: number; memoWrites: number; json: string }> {
  const handle = client.workflow.getHandle(directiveWorkflowId(directiveId));
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  return {
    type: (await handle.describe()).type,
    // Patch markers only: local activities record markers of their own.
    patchMarkers: events.filter((e) => e.markerRecordedEventAttributes?.markerName === "core_patch")
      .length,
    memoWrites: events.filter((e) => e.workflowPropertiesModifiedEventAttributes != null).length,
    json: historyToJSON(history),
  };
}

/**
 * Submits an echo directive and opens its loop: as `workflowType` when given,
 * else as every new loop opens (`submitAndStart`).
 */
async function submitGated(
  h: LoopHarness,
  message: string,
  workflowType?: string,
): Promise<string> {
  const document = echoDocument({ payload: { message } });
  if (workflowType === undefined) {
    const { directive, startError } = await submitAndStart(h.sql, h.target, {
      document,
      schema: builtinSchema(),
    });
    assertEquals(startError, undefined);
    return directive.id;
  }
  const { directive } = await submitDirective(h.sql, document, { schema: builtinSchema() });
  await h.client.workflow.start(workflowType, {
    workflowId: directiveWorkflowId(directive.id),
    taskQueue: h.target.taskQueue,
    args: [{ directiveId: directive.id, maxAttempts: h.target.maxAttempts }],
  });
  return directive.id;
}

async function approveAndFinish(h: LoopHarness, directiveId: string): Promise<LoopResult> {
  await h.client.workflow.getHandle(directiveWorkflowId(directiveId)).executeUpdate(
    approveUpdate,
    { args: [{ actor: "qa", reason: "approved after the upgrade" }] },
  );
  return await waitForLoop(h.client, directiveId);
}

Deno.test({
  name: "a loop waiting at the gate survives both kinds of upgrade and completes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const h = await startLoopHarness({ noWorker: true });
    try {
      // Before the upgrade: the old build opens a loop that waits at the gate.
      const old = await startBundledWorker(h, BEFORE);
      const waiting = await submitGated(h, "opened before the upgrade", "directiveWorkflow");
      await atGate(h.client, waiting);
      assertEquals(await phaseMemo(h.client, waiting), undefined);
      await old.stop();

      // The upgrade: the current build (the real worker) takes over.
      await h.startWorker();
      const patchedLoop = await submitGated(h, "opened after the upgrade", "directiveWorkflow");
      await atGate(h.client, patchedLoop);
      // Loops may also open under the later types: V2, and V3, which every new loop opens as.
      const v2 = await submitGated(h, "opened as V2", "directiveWorkflowV2");
      await atGate(h.client, v2);
      const v3 = await submitGated(h, "opened as every new loop is");
      await atGate(h.client, v3);
      // The memo is readable with no worker running: that is what it is for.
      await stopHarnessWorker(h);
      assertEquals(await phaseMemo(h.client, waiting), undefined);
      assertEquals(await phaseMemo(h.client, patchedLoop), "awaiting_approval");
      assertEquals(await phaseMemo(h.client, v2), "awaiting_approval");
      assertEquals(await phaseMemo(h.client, v3), "awaiting_approval");

      // The worker restarts; every waiting directive is approved and completes.
      await h.startWorker();
      for (const id of [waiting, patchedLoop, v2, v3]) {
        const result = await approveAndFinish(h, id);
        assertEquals(result.status, "complete", id);
        assertEquals(
          (await runsOf(h.sql, id)).map((r) => [r.attempt, r.status, r.outcome]),
          [[1, "completed", "SUCCESS"]],
        );
        assertEquals(await ledgerOf(h.sql, id), [
          "∅>draft",
          "draft>proposed",
          "proposed>approved",
          "approved>executing",
          "executing>complete",
        ]);
      }
      const [dupes] = await h.sql<{ approvals: number; artifacts: number; evaluations: number }[]>`
        SELECT (SELECT count(*)::int FROM approvals) AS approvals,
               (SELECT count(*)::int FROM artifacts) AS artifacts,
               (SELECT count(*)::int FROM evaluations) AS evaluations`;
      assertEquals({ ...dupes }, { approvals: 4, artifacts: 4, evaluations: 4 });

      // patched() is true wherever a loop runs code for the first time: the
      // old loop takes the patches after the gate, the new V1 loop from its
      // start; V2 needs no phase-memo patch.
      assertEquals(await phaseMemo(h.client, waiting), "done");
      assertEquals(await phaseMemo(h.client, patchedLoop), "done");
      assertEquals(await phaseMemo(h.client, v2), "done");
      assertEquals(await phaseMemo(h.client, v3), "done");
      const marks = {
        v1_across_upgrade: await historyMarks(h.client, waiting),
        v1_patched: await historyMarks(h.client, patchedLoop),
        v2: await historyMarks(h.client, v2),
        v3: await historyMarks(h.client, v3),
      };
      assertEquals(
        Object.values(marks).map((m) => [m.type, m.patchMarkers, m.memoWrites]),
        [
          // Three markers (phase memo, sandboxed execution, signed
          // decisions); the memo at executing, evaluating and done.
          ["directiveWorkflow", 3, 3],
          // Three markers; the memo at the gate, executing, evaluating and done.
          ["directiveWorkflow", 3, 4],
          // Two markers (sandboxed execution, signed decisions): V2 has no
          // phase-memo branch.
          ["directiveWorkflowV2", 2, 4],
          // No patch: V3 was released with every change above.
          ["directiveWorkflowV3", 0, 4],
        ],
      );

      // Replay: the recorded histories against the current code, and
      // against the old code, which cannot replay what the patch added.
      const dir = await Deno.makeTempDir({ prefix: "keel_upgrade_" });
      try {
        const files: string[] = [];
        for (const [name, mark] of Object.entries(marks)) {
          files.push(`${dir}/${name}.json`);
          await Deno.writeTextFile(`${dir}/${name}.json`, mark.json + "\n");
        }
        const current = await replay(CURRENT, files);
        assertEquals(current.map((r) => [r.workflowId, r.error]), [
          ["v1_across_upgrade", null],
          ["v1_patched", null],
          ["v2", null],
          ["v3", null],
        ]);
        const before = await replay(BEFORE, files.slice(0, 2));
        assertEquals(before.map((r) => r.error?.name), [
          "DeterminismViolationError",
          "DeterminismViolationError",
        ]);
        if (Deno.env.get("KEEL_CAPTURE_HISTORIES") === "1") {
          await Deno.mkdir(UPGRADE_HISTORIES, { recursive: true });
          for (const name of Object.keys(marks)) {
            await Deno.copyFile(`${dir}/${name}.json`, `${UPGRADE_HISTORIES}/${name}.json`);
          }
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    } finally {
      await h.stop();
    }
  },
});

Deno.test("committed histories of both code versions replay", async () => {
  const upgrade = await historyFilesIn(UPGRADE_HISTORIES);
  assertEquals(upgrade.map((f) => f.replace(/^.*\//, "")), [
    "v1_across_upgrade.json",
    "v1_patched.json",
    "v2.json",
    "v3.json",
  ]);
  const current = await replay(CURRENT, upgrade);
  assertEquals(current.length, upgrade.length);
  for (const line of current) assertEquals(line.error, null, line.workflowId);
  // The old build replays every history recorded before the phase memo, which
  // shows the fixture issues exactly the commands the earlier code issued; the
  // current code replays them too (loops and attempts in flight at an upgrade).
  const pre = await historyFilesIn(PRE_SANDBOX_HISTORIES);
  const old = await replay(BEFORE, pre);
  assertEquals(old.length, pre.length);
  for (const line of old) assertEquals(line.error, null, line.workflowId);
  assert(old.length > 10);
  const now = await replay(CURRENT, pre);
  assertEquals(now.length, pre.length);
  for (const line of now) assertEquals(line.error, null, line.workflowId);
});
