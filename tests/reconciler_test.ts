/**
 * The reconciler adopts directives the database says need work but whose
 * loop does not run, and tells a waiting loop about an approval stored
 * without it.
 */
import { assertEquals } from "@std/assert";
import { decideApproval, submitDirective } from "../src/directives/mod.ts";
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
