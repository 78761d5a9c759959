import { z } from "zod";
import type { Sql, TransactionSql } from "../db/mod.ts";
import { DirectiveRow, type DirectiveStatus, TransitionRow } from "../models/mod.ts";
import { validateTransition } from "./lifecycle.ts";

/** Thrown when no directive has the given id. */
export class DirectiveNotFoundError extends Error {
  /** The id looked up. */
  readonly directiveId: string;
  /** Creates the error. */
  constructor(directiveId: string, options?: ErrorOptions) {
    super(`No directive has id "${directiveId}"`, options);
    this.name = "DirectiveNotFoundError";
    this.directiveId = directiveId;
  }
}

/**
 * Thrown when the directive is no longer in the state or version the caller
 * expected: another writer changed it first. Names the current state.
 */
export class DirectiveConflictError extends Error {
  /** The directive. */
  readonly directiveId: string;
  /** Its status now. */
  readonly currentStatus: DirectiveStatus;
  /** Its version now. */
  readonly currentVersion: number;
  /** Creates the error. */
  constructor(
    directiveId: string,
    current: { status: DirectiveStatus; version: number },
    expected: string,
    options?: ErrorOptions,
  ) {
    super(
      `Directive "${directiveId}" changed before this write: it is now "${current.status}" at version ${current.version}, expected ${expected}`,
      options,
    );
    this.name = "DirectiveConflictError";
    this.directiveId = directiveId;
    this.currentStatus = current.status;
    this.currentVersion = current.version;
  }
}

/** Thrown when a transition request itself is malformed (actor, reason). */
export class TransitionRequestError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransitionRequestError";
  }
}

const Attribution = z.strictObject({
  actor: z.string().trim().min(1, "actor is required").max(200, "actor is at most 200 characters")
    .refine((v) => !v.includes("\u0000") && v.isWellFormed(), "actor must be well-formed text"),
  reason: z.string().trim().min(1, "reason is required").max(
    2000,
    "reason is at most 2000 characters",
  ).refine((v) => !v.includes("\u0000") && v.isWellFormed(), "reason must be well-formed text"),
});

/** A request to move a directive to another status. */
export interface TransitionRequest {
  /** The directive. */
  readonly directiveId: string;
  /** The status to move to. */
  readonly to: DirectiveStatus;
  /** Who asks: recorded on the ledger. */
  readonly actor: string;
  /** Why: recorded on the ledger. */
  readonly reason: string;
  /** Refuse unless the directive is at this version (optimistic concurrency). */
  readonly expectedVersion?: number;
  /** Refuse unless the directive is in this status. */
  readonly expectedStatus?: DirectiveStatus;
}

/** The directive after a transition, and the ledger row that records it. */
export interface TransitionResult {
  /** The updated directive. */
  readonly directive: DirectiveRow;
  /** The ledger row appended. */
  readonly transition: TransitionRow;
}

function attribution(actor: string, reason: string): { actor: string; reason: string } {
  const parsed = Attribution.safeParse({ actor, reason });
  if (!parsed.success) {
    throw new TransitionRequestError(
      `Cannot record a transition: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/**
 * The single mutator of directive status, inside the caller's transaction:
 * locks the row and checks the expected version or status and the lifecycle
 * rule here (for typed errors), then calls the database's
 * `keel_transition_directive`, the only way `keel_app` can change a status. That
 * SECURITY DEFINER function checks it all again under its own lock and writes
 * the new status, version and ledger row (actor, reason, seq) together.
 * A directive's creation row is written by the database when it is inserted.
 */
export async function applyTransition(
  tx: TransactionSql,
  request: TransitionRequest,
): Promise<TransitionResult> {
  const who = attribution(request.actor, request.reason);
  const [locked] = await tx`
    SELECT * FROM directives WHERE id = ${request.directiveId} FOR UPDATE`;
  if (!locked) throw new DirectiveNotFoundError(request.directiveId);
  const current = DirectiveRow.parse(locked);
  if (request.expectedVersion !== undefined && current.version !== request.expectedVersion) {
    throw new DirectiveConflictError(current.id, current, `version ${request.expectedVersion}`);
  }
  if (request.expectedStatus !== undefined && current.status !== request.expectedStatus) {
    throw new DirectiveConflictError(current.id, current, `"${request.expectedStatus}"`);
  }
  validateTransition(current.status, request.to);
  const [ledger] = await tx`
    SELECT * FROM keel_transition_directive(
      ${current.id}::uuid, ${request.to}::text, ${who.actor}::text, ${who.reason}::text,
      ${current.version}::integer, ${current.status}::text)`;
  const [updated] = await tx`SELECT * FROM directives WHERE id = ${current.id}`;
  return {
    directive: DirectiveRow.parse(updated),
    transition: TransitionRow.parse(ledger),
  };
}

/** {@linkcode applyTransition} in a transaction of its own. */
export async function transitionDirective(
  sql: Sql,
  request: TransitionRequest,
): Promise<TransitionResult> {
  return await sql.begin((tx) => applyTransition(tx, request)) as TransitionResult;
}

/**
 * Loads a directive by id.
 *
 * @throws {DirectiveNotFoundError} when there is none.
 */
export async function getDirective(sql: Sql, directiveId: string): Promise<DirectiveRow> {
  const [row] = await sql`SELECT * FROM directives WHERE id = ${directiveId}`;
  if (!row) throw new DirectiveNotFoundError(directiveId);
  return DirectiveRow.parse(row);
}
