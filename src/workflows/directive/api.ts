/**
 * The directive loop's public surface: its workflow id, the messages it
 * accepts and the status it reports. Clients import this file; it holds only
 * message definitions and types.
 *
 * @module
 */
import { defineQuery, defineSignal, defineUpdate } from "@temporalio/workflow";

/** The workflow id of a directive's loop: one loop per directive, ever. */
export function directiveWorkflowId(directiveId: string): string {
  return `directive-${directiveId}`;
}

/**
 * The workflow type every new directive loop starts as (the single-workflow
 * loop). Loops already open under an earlier type keep it until they end.
 */
export const LOOP_WORKFLOW_TYPE = "directiveWorkflowV3";

/** The workflow id of one execution attempt (a child of the loops before the single-workflow loop). */
export function executionWorkflowId(directiveId: string, attempt: number): string {
  return `directive-${directiveId}-attempt-${attempt}`;
}

/**
 * The `patched()` id of the phase memo in `directiveWorkflow`. Loops recorded
 * before it replay without the memo. Retire it (`deprecatePatch`, then
 * removal) only once no loop recorded without it is open.
 */
export const PHASE_MEMO_PATCH = "keel-phase-memo";

/** The `patched()` id under which loops start `executionWorkflowV2` (the sandboxed module run). */
export const SANDBOX_EXECUTION_PATCH = "keel-sandboxed-execution";

/** Who decided and why: required on every human message. */
export interface Attribution {
  /** Who. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
  /**
   * When the API or CLI signed it (ISO 8601). A person's decision without a
   * valid signature is refused by the worker; see `src/auth/signing.ts`.
   */
  readonly issuedAt?: string;
  /** The signature's single-use nonce. */
  readonly nonce?: string;
  /** HMAC-SHA256 over the directive, the action, actor, reason, time and nonce. */
  readonly signature?: string;
}

/** Where the loop is. */
export type LoopPhase =
  | "policy"
  | "awaiting_approval"
  | "executing"
  | "evaluating"
  | "done";

/** What the `status` query returns. */
export interface LoopStatus {
  /** Approvals so far and approvals required, while awaiting approval with a quorum. */
  readonly approvals?: { readonly count: number; readonly required: number };
  /** The directive. */
  readonly directiveId: string;
  /** Where the loop is. */
  readonly phase: LoopPhase;
  /** The directive's status as the loop last wrote or read it. */
  readonly directiveStatus: string | null;
  /** The current or last attempt. */
  readonly attempt: number;
  /** The current or last run. */
  readonly runId: string | null;
  /** An abort has been requested. */
  readonly abortRequested: boolean;
}

/** What approve and reject return once the decision is stored. */
export interface DecisionReply {
  /** approved or rejected. */
  readonly decision: "approved" | "rejected";
  /** The directive's status after it: still `proposed` while a quorum is incomplete. */
  readonly directiveStatus: string;
  /** Distinct approvals so far (absent in replies recorded before quorums). */
  readonly approvals?: number;
  /** Approvals the verdict requires (absent in replies recorded before quorums). */
  readonly required?: number;
}

/** The patch under which aborts are verified by an activity before the loop acts on them. */
export const SIGNED_DECISIONS_PATCH = "keel-signed-decisions";

/** What the loop returns when it ends. */
export interface LoopResult {
  /** The directive. */
  readonly directiveId: string;
  /** Its terminal status. */
  readonly status: "complete" | "blocked" | "aborted";
  /** Why it ended so. */
  readonly reason: string;
  /** The last run, if any ran. */
  readonly runId: string | null;
  /** Attempts made. */
  readonly attempts: number;
}

/** Approve the directive (Update: returns once stored). */
export const approveUpdate = defineUpdate<DecisionReply, [Attribution]>("approve");
/** Reject the directive (Update: returns once stored). */
export const rejectUpdate = defineUpdate<DecisionReply, [Attribution]>("reject");
/** Abort the directive (Update: returns the loop's end). */
export const abortUpdate = defineUpdate<LoopResult, [Attribution]>("abort");
/** Approve, fire-and-forget. */
export const approveSignal = defineSignal<[Attribution]>("approveSignal");
/** Reject, fire-and-forget. */
export const rejectSignal = defineSignal<[Attribution]>("rejectSignal");
/** Abort, fire-and-forget. */
export const abortSignal = defineSignal<[Attribution]>("abortSignal");
/** Where the loop is. */
export const statusQuery = defineQuery<LoopStatus>("status");

/** Input of the directive loop. */
export interface DirectiveLoopInput {
  /** The directive. */
  readonly directiveId: string;
  /** Execution attempts before giving up on ERROR outcomes. */
  readonly maxAttempts: number;
}

/** Input of one execution attempt. */
export interface ExecutionInput {
  /** The directive. */
  readonly directiveId: string;
  /** Which attempt, from 1. */
  readonly attempt: number;
  /** The directive's timebox. */
  readonly timeboxSeconds: number;
}

/** How an attempt ended. */
export interface ExecutionResult {
  /** The run. */
  readonly runId: string;
  /**
   * The run's status. `lost`: the worker died while the module ran.
   * `pending` (from `endRun` with `lost` only): the module never started.
   */
  readonly status: "completed" | "failed" | "canceled" | "lost" | "pending";
  /** The module's outcome; null when canceled, lost or pending. */
  readonly outcome: "SUCCESS" | "FAILURE" | "ERROR" | null;
  /** Summary. */
  readonly message: string;
  /**
   * Whether another attempt may follow, as the worker judged it (module
   * retry-safety and the worker's attempt limit). Absent in histories
   * recorded before it existed: the loop's own limit applies then.
   */
  readonly retryable?: boolean;
}
