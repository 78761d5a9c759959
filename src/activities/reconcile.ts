import { activityInfo, Context } from "@temporalio/activity";
import { isLoopRunning } from "../loop/commands.ts";
import { type DecisionKey, signDecision } from "../auth/signing.ts";
import type { Sql } from "../db/mod.ts";
import {
  type ActiveCursor,
  type ActiveDirective,
  activeDirectivesPage,
} from "../directives/mod.ts";
import {
  approveSignal,
  directiveWorkflowId,
  LOOP_WORKFLOW_TYPE,
} from "../workflows/directive/api.ts";
import type { Logger } from "../telemetry/log.ts";

/** What the reconciler's activities need. */
export interface ReconcileDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** Execution attempts the loops it starts may make. */
  readonly maxAttempts: number;
  /** The structured logger. */
  readonly log: Logger;
  /** The worker's decision key: a stored approval it restates to a loop is signed with it. */
  readonly decisionKey?: DecisionKey | undefined;
}

/** What one reconcile pass did, as counts (the history holds no id lists). */
export interface ReconcileReport {
  /** Active directives examined. */
  readonly scanned: number;
  /** Loops started for directives that had none running. */
  readonly adopted: number;
  /** Running loops told of an approval stored while they waited. */
  readonly nudged: number;
  /** Directives whose check, start or signal threw: logged with their id, then skipped. */
  readonly failed: number;
}

/** Where a pass stands: heartbeated, so a retried activity resumes after the last page. */
interface Progress extends ReconcileReport {
  readonly after: ActiveCursor | null;
}

const EMPTY: Progress = { after: null, scanned: 0, adopted: 0, nudged: 0, failed: 0 };

function isProgress(value: unknown): value is Progress {
  const p = value as Partial<Progress> | undefined;
  return typeof p === "object" && p !== null && typeof p.scanned === "number" &&
    typeof p.adopted === "number" && typeof p.nudged === "number" &&
    typeof p.failed === "number" && (p.after === null || typeof p.after === "object");
}

/** Builds the reconciler's activities. */
export function createReconcileActivities(deps: ReconcileDeps) {
  /** Makes sure one directive has a running loop; says what it did. */
  async function reconcileOne(row: ActiveDirective): Promise<"adopted" | "nudged" | "ok"> {
    const client = Context.current().client;
    const workflowId = directiveWorkflowId(row.id);
    if (!await isLoopRunning(client, row.id)) {
      await client.workflow.start(LOOP_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: activityInfo().taskQueue,
        args: [{ directiveId: row.id, maxAttempts: deps.maxAttempts }],
        workflowIdConflictPolicy: "USE_EXISTING",
        workflowIdReusePolicy: "ALLOW_DUPLICATE_FAILED_ONLY",
      });
      deps.log.info("reconciler started a directive loop", { directive_id: row.id });
      return "adopted";
    }
    if (row.status === "approved" && row.approvedBy !== null) {
      // The loop accepts only signed decisions; this one restates what is
      // already stored, so the stored approver's decision is returned as is.
      if (deps.decisionKey === undefined) return "ok";
      const by = { actor: row.approvedBy, reason: row.approvalReason ?? "approved" };
      await client.workflow.getHandle(workflowId).signal(
        approveSignal,
        await signDecision(deps.decisionKey, row.id, "approve", by),
      );
      return "nudged";
    }
    return "ok";
  }

  return {
    /**
     * Walks every directive the database says needs work (proposed,
     * approved, executing), in pages of `pageSize` on a (created_at, id)
     * cursor, and makes sure each has a running loop: starts one where none
     * runs, and tells a waiting loop about an approval that was stored
     * without it. Starting is idempotent on the workflow id. A directive
     * whose check throws is logged with its id, counted and skipped; the
     * pass goes on. Progress is heartbeated, so a retry resumes after the
     * last page it finished.
     */
    async reconcileDirectives(pageSize: number): Promise<ReconcileReport> {
      const resumed = activityInfo().heartbeatDetails as unknown;
      let progress: Progress = isProgress(resumed) ? resumed : EMPTY;
      for (;;) {
        const page = await activeDirectivesPage(deps.sql, {
          limit: pageSize,
          after: progress.after,
        });
        let { scanned, adopted, nudged, failed } = progress;
        for (const row of page.rows) {
          Context.current().heartbeat(progress);
          scanned++;
          try {
            const done = await reconcileOne(row);
            if (done === "adopted") adopted++;
            if (done === "nudged") nudged++;
          } catch (error) {
            failed++;
            deps.log.error("reconciler could not reconcile a directive; going on", {
              directive_id: row.id,
              status: row.status,
              error,
            });
          }
        }
        progress = { after: page.next, scanned, adopted, nudged, failed };
        Context.current().heartbeat(progress);
        if (page.next === null) break;
      }
      const { after: _after, ...report } = progress;
      if (report.failed > 0) deps.log.warn("reconciler pass had failures", { ...report });
      return report;
    },
  };
}

/** The reconciler's activities, for `proxyActivities`. */
export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
