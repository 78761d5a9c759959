/**
 * The commands every caller sends a directive's loop: is it running, and a
 * decision (approve, reject, abort). A decision goes to the running loop as
 * a workflow Update, with a deadline; when no loop runs, the same decision is
 * recorded directly in Postgres (the reconciler adopts the directive later).
 * The server and the CLI both decide through {@linkcode decide}.
 *
 * @module
 */
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from "@temporalio/client";
import type { Principal } from "../auth/principal.ts";
import type { Sql } from "../db/mod.ts";
import {
  decideApproval,
  DirectiveConflictError,
  finishDirective,
  isTerminal,
} from "../directives/mod.ts";
import { loadDirective } from "../directives/queries.ts";
import {
  abortUpdate,
  approveUpdate,
  directiveWorkflowId,
  rejectUpdate,
  statusQuery,
} from "../workflows/directive/api.ts";
import type { LoopTarget } from "./mod.ts";

/** How long an Update may take by default before the caller gives up. */
export const UPDATE_DEADLINE_MS = 20_000;
/** How long a decision waits for a just-started loop to reach its approval gate. */
const GATE_WAIT_MS = 10_000;
/** How long a describe or query may take. */
const PROBE_DEADLINE_MS = 5_000;

/** Thrown when the loop refuses a decision, or the directive has already ended. */
export class DecisionRefusedError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DecisionRefusedError";
  }
}

/** Thrown when Temporal or the loop does not answer before the deadline. */
export class LoopTimeoutError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LoopTimeoutError";
  }
}

/** Whether a loop runs for the directive: running, ended (with its status name), or never started. */
export type LoopState =
  | { readonly state: "running" }
  | { readonly state: "ended"; readonly status: string }
  | { readonly state: "absent" };

/** Whether `error` or one of its causes (at most 8 deep) is a gRPC status that `matches`. */
function hasCause(
  error: unknown,
  matches: (status: { code?: unknown; message?: unknown }) => boolean,
): boolean {
  for (let e: unknown = error, i = 0; e && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    if (matches(e as { code?: unknown; message?: unknown })) return true;
  }
  return false;
}

function isDeadline(error: unknown): boolean {
  return hasCause(error, ({ code }) => code === 4);
}

async function withDeadline<T>(
  client: Client,
  ms: number,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + ms, fn);
  } catch (error) {
    if (isDeadline(error)) {
      throw new LoopTimeoutError(
        `${what} did not answer within ${ms / 1000}s: is a worker polling the task queue?`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Whether an Update was dropped by the server because the workflow task it
 * arrived in failed (a loop's completion that raced a signal is refused
 * with `UnhandledCommand` and retried with the new events): the Update was
 * never accepted, so sending it again is safe (every decision step is
 * idempotent and a new send carries a new signature).
 */
export function isDroppedUpdate(error: unknown): boolean {
  return hasCause(
    error,
    ({ code, message }) =>
      code === 9 && String(message).includes("unexpected workflow task failure"),
  );
}

/** Sends an Update, again (at most twice more) when the server dropped it. */
export async function sendUpdate<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= 3 || !isDroppedUpdate(error)) throw error;
    }
  }
}

/** The directive's loop: running, ended or absent. */
export async function loopState(client: Client, directiveId: string): Promise<LoopState> {
  try {
    const handle = client.workflow.getHandle(directiveWorkflowId(directiveId));
    const described = await withDeadline(
      client,
      PROBE_DEADLINE_MS,
      "Temporal",
      () => handle.describe(),
    );
    return described.status.name === "RUNNING"
      ? { state: "running" }
      : { state: "ended", status: described.status.name };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { state: "absent" };
    throw error;
  }
}

/** Whether the directive's loop is running. */
export async function isLoopRunning(client: Client, directiveId: string): Promise<boolean> {
  return (await loopState(client, directiveId)).state === "running";
}

/** What a command needs. */
export interface CommandDeps {
  /** The app-role pool. */
  readonly sql: Sql;
  /** Where loops run. */
  readonly target: LoopTarget;
  /** Milliseconds an Update may take (default {@linkcode UPDATE_DEADLINE_MS}). */
  readonly updateDeadlineMs?: number;
}

/** A decision. */
export type DecisionAction = "approve" | "reject" | "abort";

/** What {@linkcode decide} did. */
export interface DecisionOutcome {
  /** The directive. */
  readonly id: string;
  /** The directive's status after the decision. */
  readonly status: string;
  /** `approved` or `rejected` (not for abort). */
  readonly decision?: "approved" | "rejected";
  /** Through the running loop, or straight into Postgres. */
  readonly via: "loop" | "postgres";
  /** False when the same decision was already recorded (nothing changed). */
  readonly recorded: boolean;
  /** The actor the ledger records (for an unchanged decision: the earlier one's). */
  readonly actor: string;
  /** The reason recorded. */
  readonly reason: string;
  /** Why no loop took the decision, when it went to Postgres (e.g. `it has no loop`). */
  readonly noLoop?: string;
}

function absence(state: LoopState): string {
  if (state.state === "absent") return "it has no loop";
  if (state.state === "ended") return `its loop has ended (${state.status})`;
  return "its loop has ended";
}

/** Waits while a freshly started loop is still evaluating policy. */
async function untilPastPolicy(client: Client, id: string): Promise<void> {
  const handle = client.workflow.getHandle(directiveWorkflowId(id));
  const deadline = Date.now() + GATE_WAIT_MS;
  while (Date.now() < deadline) {
    const status = await withDeadline(
      client,
      PROBE_DEADLINE_MS,
      "the loop",
      () => handle.query(statusQuery),
    );
    if (status.phase !== "policy") return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function throughLoop(
  deps: CommandDeps,
  id: string,
  action: DecisionAction,
  by: { actor: string; reason: string },
): Promise<DecisionOutcome | undefined> {
  const client = deps.target.client;
  const handle = client.workflow.getHandle(directiveWorkflowId(id));
  const ms = deps.updateDeadlineMs ?? UPDATE_DEADLINE_MS;
  try {
    if (action === "abort") {
      const result = await withDeadline(
        client,
        ms,
        "the loop",
        () => sendUpdate(() => handle.executeUpdate(abortUpdate, { args: [by] })),
      );
      return {
        id,
        status: result.status,
        via: "loop",
        recorded: true,
        actor: by.actor,
        reason: result.reason,
      };
    }
    await untilPastPolicy(client, id);
    const update = action === "approve" ? approveUpdate : rejectUpdate;
    const reply = await withDeadline(
      client,
      ms,
      "the loop",
      () => sendUpdate(() => handle.executeUpdate(update, { args: [by] })),
    );
    return {
      id,
      decision: reply.decision,
      status: reply.directiveStatus,
      via: "loop",
      recorded: true,
      ...by,
    };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause instanceof Error ? error.cause.message : error.message;
      throw new DecisionRefusedError(`the loop refused: ${cause}`, { cause: error });
    }
    if (error instanceof WorkflowNotFoundError) return undefined; // ended meanwhile
    throw error;
  }
}

/**
 * Sends a decision about directive `id` as `principal`: to its running loop
 * as an Update (with a deadline), else straight into Postgres. Throws
 * `DirectiveNotFoundError`, {@linkcode DecisionRefusedError} (ended, or the
 * loop refused), `DirectiveConflictError`/`DecisionConflictError` (not
 * awaiting approval, or the opposite decision stands) or
 * {@linkcode LoopTimeoutError}.
 */
export async function decide(
  deps: CommandDeps,
  id: string,
  action: DecisionAction,
  options: { principal: Principal; reason: string },
): Promise<DecisionOutcome> {
  const actor = options.principal.name;
  const by = { actor, reason: options.reason };
  const directive = await loadDirective(deps.sql, id);
  if (action === "abort" && isTerminal(directive.status)) {
    throw new DecisionRefusedError(
      `directive ${id} has already ended ${directive.status}; nothing to abort`,
    );
  }
  const state = await loopState(deps.target.client, id);
  if (state.state === "running") {
    const done = await throughLoop(deps, id, action, by);
    if (done !== undefined) return done;
  }
  const noLoop = absence(state);
  if (action === "abort") {
    const finished = await finishDirective(deps.sql, { directiveId: id, to: "aborted", ...by });
    if (!finished.changed) {
      throw new DecisionRefusedError(
        `directive ${id} has already ended ${finished.directive.status}; nothing to abort`,
      );
    }
    return {
      id,
      status: finished.directive.status,
      via: "postgres",
      recorded: true,
      noLoop,
      ...by,
    };
  }
  const decision = action === "approve" ? "approved" : "rejected";
  let result;
  try {
    result = await decideApproval(deps.sql, { directiveId: id, decision, ...by });
  } catch (error) {
    if (!(error instanceof DirectiveConflictError)) throw error;
    throw new DecisionRefusedError(
      `directive ${id} is "${error.currentStatus}", not awaiting approval; nothing to ${action}`,
      { cause: error },
    );
  }
  return {
    id,
    decision: result.approval.decision,
    status: result.directive.status,
    via: "postgres",
    recorded: result.recorded,
    actor: result.approval.actor,
    reason: result.approval.reason,
    noLoop,
  };
}
