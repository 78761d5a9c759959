/**
 * The reconciler adopts directives the database says need work but whose
 * loop does not run, and tells a waiting loop about an approval stored
 * without it.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import type { WorkflowHandle } from "@temporalio/client";
import type { ReconcileReport } from "../src/activities/reconcile.ts";
import {
  activeDirectivesPage,
  ActivePageError,
  decideApproval,
  submitDirective,
} from "../src/directives/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import type { reconcilerWorkflow } from "../src/workflows/reconciler/workflows.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, ledgerOf, startLoopHarness } from "./_loop.ts";

const schema = builtinSchema();
const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...opts,
  name: "a directive approved while no worker ran is adopted and completes",
  async fn() {
    const h = await startLoopHarness({ noWorker: true, reconcileIntervalSeconds: 1 });
    try {
      // Stored, but its loop was never started (as if the submitter lost Temporal).
      const { directive } = await submitDirective(h.sql, echoDocument(), { schema });
      await decideApproval(h.sql, {
        directiveId: directive.id,
        decision: "approved",
        actor: "ops@example.com",
        reason: "approved while the workers were down",
      });
      await h.startWorker();
      const result = await eventually(async () => {
        try {
          return await waitForLoop(h.client, directive.id);
        } catch {
          return undefined; // not started yet
        }
      }, "the reconciler to start and finish the loop");
      assertEquals(result.status, "complete");
      assertEquals(await ledgerOf(h.sql, directive.id), [
        "∅>draft",
        "draft>proposed",
        "proposed>approved",
        "approved>executing",
        "executing>complete",
      ]);
    } finally {
      await h.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "a loop waiting at the gate learns of an approval stored in Postgres",
  async fn() {
    const h = await startLoopHarness({ reconcileIntervalSeconds: 1 });
    try {
      const { directive } = await submitAndStart(h.sql, h.target, {
        document: echoDocument(),
        schema,
      });
      const handle = h.client.workflow.getHandle(directiveWorkflowId(directive.id));
      await eventually(
        async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
        "the approval gate",
      );
      await decideApproval(h.sql, {
        directiveId: directive.id,
        decision: "approved",
        actor: "api:alice",
        reason: "approved through another client",
      });
      assertEquals((await waitForLoop(h.client, directive.id)).status, "complete");
      const [row] = await h.sql`
        SELECT actor FROM directive_transitions
         WHERE directive_id = ${directive.id} AND to_status = 'approved'`;
      assertEquals(row?.actor, "api:alice");
    } finally {
      await h.stop();
    }
  },
});

Deno.test({
  ...opts,
  name: "the reconciler bounds its history by continuing as new",
  async fn() {
    const h = await startLoopHarness();
    try {
      const handle = await h.client.workflow.start<typeof reconcilerWorkflow>(
        "reconcilerWorkflow",
        {
          workflowId: "reconciler-under-test",
          taskQueue: h.target.taskQueue,
          args: [{ intervalSeconds: 1, batchSize: 10, passesPerRun: 2 }],
        },
      );
      const first = handle.firstExecutionRunId;
      const later = await eventually(async () => {
        const description = await h.client.workflow.getHandle("reconciler-under-test").describe();
        return description.runId !== first ? description : undefined;
      }, "a continued-as-new run");
      assertEquals(later.status.name, "RUNNING");
      assertEquals(later.workflowId, "reconciler-under-test");
      await h.client.workflow.getHandle("reconciler-under-test").terminate("test done");
    } finally {
      await h.stop();
    }
  },
});

/** The result of the first reconcile pass of a reconciler run, read from its history. */
async function firstPassReport(handle: WorkflowHandle): Promise<ReconcileReport | undefined> {
  const history = await handle.fetchHistory();
  for (const event of history.events ?? []) {
    const data = event.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
    if (data) return JSON.parse(new TextDecoder().decode(data)) as ReconcileReport;
  }
  return undefined;
}

Deno.test({
  ...opts,
  name:
    "one pass pages through 150 directives at the gate, adopts the orphan, and survives a row that throws",
  async fn() {
    const h = await startLoopHarness({ policy: { approval_timeout_seconds: 3600 } });
    try {
      const loop = (id: string) => h.client.workflow.getHandle(directiveWorkflowId(id));
      // The oldest active row cannot be adopted: a completed workflow holds its
      // loop's id, and the reuse policy refuses to start over a success.
      const { directive: stuck } = await submitDirective(h.sql, echoDocument(), { schema });
      await h.client.workflow.execute("pingWorkflow", {
        workflowId: directiveWorkflowId(stuck.id),
        taskQueue: h.target.taskQueue,
      });
      const parked: string[] = [];
      for (let i = 0; i < 150; i++) {
        const result = await submitAndStart(h.sql, h.target, { document: echoDocument(), schema });
        assertEquals(result.startError, undefined);
        parked.push(result.directive.id);
      }
      for (const id of parked) {
        await eventually(
          async () => (await loop(id).query(statusQuery)).phase === "awaiting_approval",
          `directive ${id} at the approval gate`,
        );
      }
      // The newest one loses its loop: far past the first 100 rows.
      const orphan = parked.at(-1)!;
      await loop(orphan).terminate("lost its loop");
      assertEquals((await loop(orphan).describe()).status.name, "TERMINATED");

      // The cursor walks every row once, in bounded pages.
      const seen: string[] = [];
      let page = await activeDirectivesPage(h.sql, { limit: 40 });
      for (
        ;
        page.next !== null;
        page = await activeDirectivesPage(h.sql, { limit: 40, after: page.next })
      ) {
        seen.push(...page.rows.map((row) => row.id));
      }
      seen.push(...page.rows.map((row) => row.id));
      assertEquals(new Set(seen).size, 151);
      assertEquals(seen.length, 151);
      await assertRejects(
        () => activeDirectivesPage(h.sql, { limit: 0 }),
        ActivePageError,
        'limit "0"',
      );

      const reconciler = await h.client.workflow.start<typeof reconcilerWorkflow>(
        "reconcilerWorkflow",
        {
          workflowId: `reconciler-${crypto.randomUUID()}`,
          taskQueue: h.target.taskQueue,
          // One pass, then a long sleep: whatever is adopted was adopted by the first pass.
          args: [{ intervalSeconds: 3600, batchSize: 40, passesPerRun: 1 }],
        },
      );
      try {
        const report = await eventually(
          () => firstPassReport(reconciler),
          "the first pass",
          120_000,
        );
        assertEquals(report, { scanned: 151, adopted: 1, nudged: 0, failed: 1 });
        const adopted = await loop(orphan).describe();
        assertEquals(adopted.status.name, "RUNNING");
        await eventually(
          async () => (await loop(orphan).query(statusQuery)).phase === "awaiting_approval",
          "the adopted loop back at the gate",
        );
        assert((await loop(stuck.id).describe()).status.name === "COMPLETED");
      } finally {
        await reconciler.terminate("test done");
      }
    } finally {
      await h.stop();
    }
  },
});
