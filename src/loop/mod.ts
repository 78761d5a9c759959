/**
 * Client-side helpers for the control loop: submit a directive and start its
 * loop, or send it a decision. Used by the CLI and by tests; the workflow id
 * is derived from the directive id, so repeating any of these is safe.
 *
 * @module
 */
import type { Client } from "@temporalio/client";
import type { Sql } from "../db/mod.ts";
import { isTerminal, submitDirective, type SubmitResult } from "../directives/mod.ts";
import type { DirectiveSchema } from "../models/mod.ts";
import {
  directiveWorkflowId,
  LOOP_WORKFLOW_TYPE,
  type LoopResult,
} from "../workflows/directive/api.ts";
import type { directiveWorkflowV3 } from "../workflows/directive/workflows.ts";

/** Where loops run. */
export interface LoopTarget {
  /** A Temporal client. */
  readonly client: Client;
  /** The worker's task queue. */
  readonly taskQueue: string;
  /** Execution attempts per directive. */
  readonly maxAttempts: number;
}

/** Starts the loop of a directive, or finds the one already running. */
export async function startLoop(target: LoopTarget, directiveId: string): Promise<string> {
  const workflowId = directiveWorkflowId(directiveId);
  await target.client.workflow.start<typeof directiveWorkflowV3>(LOOP_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: target.taskQueue,
    args: [{ directiveId, maxAttempts: target.maxAttempts }],
    workflowIdConflictPolicy: "USE_EXISTING",
    // A loop that ended is never started again; one that failed or was
    // terminated may be, and resumes from the state in Postgres.
    workflowIdReusePolicy: "ALLOW_DUPLICATE_FAILED_ONLY",
  });
  return workflowId;
}

/** What {@linkcode submitAndStart} did. */
export interface SubmitAndStartResult extends SubmitResult {
  /** The loop's workflow id. */
  readonly workflowId: string;
  /** Why the loop could not be started now; the reconciler adopts the directive later. */
  readonly startError?: string;
}

/**
 * Stores a directive (idempotently) and starts its loop. Postgres is written
 * first: when Temporal cannot be reached, the directive is kept and the
 * reconciler starts its loop once a worker runs.
 */
export async function submitAndStart(
  sql: Sql,
  target: LoopTarget,
  options: { document: unknown; schema: DirectiveSchema; submittedBy?: string },
): Promise<SubmitAndStartResult> {
  const submitted = await submitDirective(sql, options.document, {
    schema: options.schema,
    ...(options.submittedBy === undefined ? {} : { submittedBy: options.submittedBy }),
  });
  const workflowId = directiveWorkflowId(submitted.directive.id);
  if (!submitted.created && isTerminal(submitted.directive.status)) {
    return { ...submitted, workflowId };
  }
  try {
    await startLoop(target, submitted.directive.id);
    return { ...submitted, workflowId };
  } catch (error) {
    return { ...submitted, workflowId, startError: (error as Error).message };
  }
}

/** Waits for a directive's loop to end and returns its result. */
export async function waitForLoop(client: Client, directiveId: string): Promise<LoopResult> {
  return await client.workflow.getHandle<typeof directiveWorkflowV3>(
    directiveWorkflowId(directiveId),
  ).result();
}
