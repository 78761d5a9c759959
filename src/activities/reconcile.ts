import { activityInfo, Context } from "@temporalio/activity";
import { isLoopRunning } from "../loop/commands.ts";
import type { Sql } from "../db/mod.ts";
import { approveSignal, directiveWorkflowId } from "../workflows/directive/api.ts";
import type { Logger } from "../telemetry/log.ts";

/** What the reconciler's activities need. */
export interface ReconcileDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** Execution attempts the loops it starts may make. */
  readonly maxAttempts: number;
  /** The structured logger. */
  readonly log: Logger;
}

/** What one reconcile pass did. */
export interface ReconcileReport {
  /** Directives examined. */
  readonly examined: number;
  /** Loops started for directives that had none running. */
  readonly started: readonly string[];
  /** Running loops told of an approval stored while they waited. */
  readonly nudged: readonly string[];
}

/** Builds the reconciler's activities. */
export function createReconcileActivities(deps: ReconcileDeps) {
  return {
    /**
     * Finds directives the database says need work (proposed, approved,
     * executing) and makes sure each has a running loop: starts one where
     * none runs, and tells a waiting loop about an approval that was stored
     * without it. Starting is idempotent on the workflow id.
     */
    async reconcileDirectives(limit: number): Promise<ReconcileReport> {
      const client = Context.current().client;
      const taskQueue = activityInfo().taskQueue;
      const rows = await deps.sql<
        { id: string; status: string; approved_by: string | null; why: string | null }[]
      >`
        SELECT d.id, d.status, a.actor AS approved_by, a.reason AS why
          FROM directives d
          LEFT JOIN approvals a ON a.directive_id = d.id AND a.decision = 'approved'
         WHERE d.status IN ('proposed', 'approved', 'executing')
         ORDER BY d.updated_at
         LIMIT ${limit}`;
      const started: string[] = [];
      const nudged: string[] = [];
      for (const row of rows) {
        Context.current().heartbeat(row.id);
        const workflowId = directiveWorkflowId(row.id);
        const running = await isLoopRunning(client, row.id);
        if (!running) {
          await client.workflow.start("directiveWorkflow", {
            workflowId,
            taskQueue,
            args: [{ directiveId: row.id, maxAttempts: deps.maxAttempts }],
            workflowIdConflictPolicy: "USE_EXISTING",
            workflowIdReusePolicy: "ALLOW_DUPLICATE_FAILED_ONLY",
          });
          started.push(row.id);
          deps.log.info("reconciler started a directive loop", { directive_id: row.id });
        } else if (row.status === "approved" && row.approved_by !== null) {
          await client.workflow.getHandle(workflowId).signal(approveSignal, {
            actor: row.approved_by,
            reason: row.why ?? "approved",
          });
          nudged.push(row.id);
        }
      }
      return { examined: rows.length, started, nudged };
    },
  };
}

/** The reconciler's activities, for `proxyActivities`. */
export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
