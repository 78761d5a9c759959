import type { Sql, TransactionSql } from "../db/mod.ts";
import { ApprovalRow, DirectiveRow } from "../models/mod.ts";
import { isTerminal } from "./lifecycle.ts";
import { applyTransition, DirectiveConflictError, DirectiveNotFoundError } from "./mutator.ts";

/** A human (or policy) decision at the approval gate. */
export interface ApprovalDecision {
  /** The directive. */
  readonly directiveId: string;
  /** Approve or reject. */
  readonly decision: "approved" | "rejected";
  /** Who decided. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
}

/** Thrown when a directive already carries the opposite decision. */
export class DecisionConflictError extends Error {
  /** The decision already recorded. */
  readonly existing: ApprovalRow;
  /** Creates the error. */
  constructor(existing: ApprovalRow, options?: ErrorOptions) {
    super(
      `Directive "${existing.directive_id}" was already ${existing.decision} by "${existing.actor}" (${existing.reason})`,
      options,
    );
    this.name = "DecisionConflictError";
    this.existing = existing;
  }
}

/** The recorded decision and the directive after it. */
export interface DecisionResult {
  /** The approvals row. */
  readonly approval: ApprovalRow;
  /** The directive after the decision. */
  readonly directive: DirectiveRow;
  /** False when this exact decision was already recorded: nothing was written. */
  readonly recorded: boolean;
}

/**
 * Records an approval or rejection and moves the directive (`proposed →
 * approved`, or `proposed → aborted`) in one transaction. Idempotent: the
 * same decision again returns the stored one; the opposite decision is
 * refused with {@linkcode DecisionConflictError}.
 */
export async function decideApproval(sql: Sql, request: ApprovalDecision): Promise<DecisionResult> {
  return await sql.begin(async (tx) => {
    const [locked] =
      await tx`SELECT * FROM directives WHERE id = ${request.directiveId} FOR UPDATE`;
    if (!locked) throw new DirectiveNotFoundError(request.directiveId);
    const directive = DirectiveRow.parse(locked);
    const [existing] = await tx`SELECT * FROM approvals WHERE directive_id = ${directive.id}`;
    if (existing) {
      const approval = ApprovalRow.parse(existing);
      if (approval.decision !== request.decision) throw new DecisionConflictError(approval);
      return { approval, directive, recorded: false };
    }
    if (directive.status !== "proposed") {
      throw new DirectiveConflictError(directive.id, directive, `"proposed" (awaiting approval)`);
    }
    const [inserted] = await tx`
      INSERT INTO approvals (directive_id, decision, actor, reason)
      VALUES (${directive.id}, ${request.decision}, ${request.actor}, ${request.reason})
      RETURNING *`;
    const moved = await applyTransition(tx, {
      directiveId: directive.id,
      to: request.decision === "approved" ? "approved" : "aborted",
      actor: request.actor,
      reason: request.decision === "approved" ? request.reason : `rejected: ${request.reason}`,
      expectedVersion: directive.version,
    });
    return { approval: ApprovalRow.parse(inserted), directive: moved.directive, recorded: true };
  }) as DecisionResult;
}

/** Options for {@linkcode finishDirective}. */
export interface FinishRequest {
  /** The directive. */
  readonly directiveId: string;
  /** `complete` or `aborted`. */
  readonly to: "complete" | "aborted" | "blocked";
  /** Who. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
}

/**
 * Moves a directive to a terminal status, idempotently: when it is already
 * terminal, nothing is written and the directive is returned as it is.
 */
export async function finishDirective(
  sql: Sql,
  request: FinishRequest,
): Promise<{ directive: DirectiveRow; changed: boolean }> {
  return await sql.begin(async (tx: TransactionSql) => {
    const [row] = await tx`SELECT * FROM directives WHERE id = ${request.directiveId} FOR UPDATE`;
    if (!row) throw new DirectiveNotFoundError(request.directiveId);
    const directive = DirectiveRow.parse(row);
    if (isTerminal(directive.status)) return { directive, changed: false };
    const moved = await applyTransition(tx, {
      directiveId: directive.id,
      to: request.to,
      actor: request.actor,
      reason: request.reason,
      expectedVersion: directive.version,
    });
    return { directive: moved.directive, changed: true };
  }) as { directive: DirectiveRow; changed: boolean };
}
