import type { Sql, TransactionSql } from "../db/mod.ts";
import { ApprovalRow, DirectiveRow } from "../models/mod.ts";
import { REJECTED_PREFIX } from "../models/decision_text.ts";
import { isTerminal } from "./lifecycle.ts";
import { applyTransition, DirectiveConflictError, DirectiveNotFoundError } from "./mutator.ts";

/** A human (or policy) decision at the approval gate. */
export interface ApprovalDecision {
  /** The directive. */
  readonly directiveId: string;
  /** Approve or reject. */
  readonly decision: "approved" | "rejected";
  /** Who decided: a principal, or `policy:<name>@<version>` for auto-approval. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
  /**
   * The signed message's single-use nonce; recorded in the same transaction.
   * The same nonce again returns the stored decision and writes nothing.
   */
  readonly nonce?: string;
  /** True for the policy's own auto-approval, which the stored verdict must allow. */
  readonly byPolicy?: boolean;
}

/** Thrown when a directive already carries the opposite decision. */
export class DecisionConflictError extends Error {
  /** The decision already recorded. */
  readonly existing: ApprovalRow;
  /** The directive's status: `proposed` while a quorum is still open. */
  readonly directiveStatus: string;
  /** Creates the error. */
  constructor(existing: ApprovalRow, directiveStatus: string, options?: ErrorOptions) {
    super(
      `Directive "${existing.directive_id}" was already ${existing.decision} by "${existing.actor}" (${existing.reason})`,
      options,
    );
    this.name = "DecisionConflictError";
    this.existing = existing;
    this.directiveStatus = directiveStatus;
  }
}

/** Thrown when a principal may not decide on a directive (separation of duties). */
export class SeparationOfDutiesError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SeparationOfDutiesError";
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
  /** Distinct approvals recorded so far. */
  readonly approvals: number;
  /** Approvals the verdict requires. */
  readonly required: number;
}

interface Verdict {
  approvals_required: number;
  separate_submitter: boolean;
  auto_approve: boolean;
}

async function latestVerdict(tx: TransactionSql, directiveId: string): Promise<Verdict> {
  const [row] = await tx<Verdict[]>`
    SELECT approvals_required, separate_submitter, auto_approve FROM policy_evaluations
     WHERE directive_id = ${directiveId} ORDER BY evaluated_at DESC LIMIT 1`;
  return row ?? { approvals_required: 1, separate_submitter: false, auto_approve: false };
}

/**
 * Records one principal's approval or rejection, in one transaction with the
 * move it causes: a rejection ends the directive (`proposed → aborted`); an
 * approval moves it to `approved` once the verdict's quorum of distinct
 * principals has approved. By default the principal who submitted may not
 * approve ({@linkcode SeparationOfDutiesError}). Idempotent: the same decision
 * by the same principal (or the same nonce) again returns the stored one; the
 * opposite decision is refused with {@linkcode DecisionConflictError}.
 */
export async function decideApproval(sql: Sql, request: ApprovalDecision): Promise<DecisionResult> {
  return await sql.begin(async (tx) => {
    const [locked] =
      await tx`SELECT * FROM directives WHERE id = ${request.directiveId} FOR UPDATE`;
    if (!locked) throw new DirectiveNotFoundError(request.directiveId);
    const directive = DirectiveRow.parse(locked);
    const verdict = await latestVerdict(tx, directive.id);
    const rows = (await tx`
      SELECT * FROM approvals WHERE directive_id = ${directive.id} ORDER BY decided_at, id`)
      .map((row) => ApprovalRow.parse(row));
    const approved = () => rows.filter((row) => row.decision === "approved").length;
    const required = request.byPolicy ? 1 : verdict.approvals_required;
    const mine = rows.find((row) => row.actor === request.actor);
    if (mine) {
      if (mine.decision !== request.decision) {
        throw new DecisionConflictError(mine, directive.status);
      }
      return {
        approval: mine,
        directive,
        recorded: false,
        approvals: approved(),
        required: required,
      };
    }
    // Once decided, the same decision again (by anyone) changes nothing; the
    // opposite one is a conflict.
    const rejection = rows.find((row) => row.decision === "rejected");
    if (rejection) {
      if (request.decision !== "rejected") {
        throw new DecisionConflictError(rejection, directive.status);
      }
      return {
        approval: rejection,
        directive,
        recorded: false,
        approvals: approved(),
        required: required,
      };
    }
    const approval = rows.findLast((row) => row.decision === "approved");
    if (directive.status !== "proposed" && approval !== undefined) {
      if (request.decision !== "approved") {
        throw new DecisionConflictError(approval, directive.status);
      }
      return { approval, directive, recorded: false, approvals: approved(), required: required };
    }
    if (directive.status !== "proposed") {
      throw new DirectiveConflictError(directive.id, directive, `"proposed" (awaiting approval)`);
    }
    if (request.byPolicy && !verdict.auto_approve) {
      throw new SeparationOfDutiesError(
        `directive ${directive.id} is not auto-approved by its verdict; "${request.actor}" cannot approve it`,
      );
    }
    // The submitter may withdraw (reject) their own directive, never approve it.
    if (
      request.decision === "approved" && !request.byPolicy && verdict.separate_submitter &&
      directive.submitted_by === request.actor
    ) {
      throw new SeparationOfDutiesError(
        `"${request.actor}" submitted directive ${directive.id} and so cannot approve it ` +
          `(separation of duties)`,
      );
    }
    if (request.nonce !== undefined) {
      const [fresh] = await tx`
        INSERT INTO decision_nonces (nonce, directive_id, action, actor)
        VALUES (${request.nonce}, ${directive.id},
          ${request.decision === "approved" ? "approve" : "reject"}, ${request.actor})
        ON CONFLICT (nonce) DO NOTHING RETURNING nonce`;
      if (!fresh) throw new ReplayedDecisionError(request.nonce);
    }
    const [inserted] = await tx`
      INSERT INTO approvals (directive_id, decision, actor, reason)
      VALUES (${directive.id}, ${request.decision}, ${request.actor}, ${request.reason})
      RETURNING *`;
    const recorded = ApprovalRow.parse(inserted);
    rows.push(recorded);
    const count = approved();
    if (request.decision === "approved" && count < required) {
      return {
        approval: recorded,
        directive,
        recorded: true,
        approvals: count,
        required: required,
      };
    }
    const moved = await applyTransition(tx, {
      directiveId: directive.id,
      to: request.decision === "approved" ? "approved" : "aborted",
      actor: request.actor,
      reason: request.decision === "approved"
        ? request.reason
        : `${REJECTED_PREFIX}${request.reason}`,
      expectedVersion: directive.version,
    });
    return {
      approval: recorded,
      directive: moved.directive,
      recorded: true,
      approvals: count,
      required: required,
    };
  }) as DecisionResult;
}

/** Thrown when a signed decision's nonce was already used for another decision. */
export class ReplayedDecisionError extends Error {
  /** Creates the error. */
  constructor(nonce: string, options?: ErrorOptions) {
    super(`decision nonce "${nonce}" was already used: a signed decision counts once`, options);
    this.name = "ReplayedDecisionError";
  }
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

/** A signed abort's nonce, to record once. */
export interface AbortNonce {
  /** The nonce. */
  readonly nonce: string;
  /** The directive. */
  readonly directiveId: string;
  /** Who asked. */
  readonly actor: string;
}

/**
 * Records a signed abort's nonce. The same nonce for the same directive and
 * principal again (a retried activity) is accepted and writes nothing; used
 * for anything else it is refused with {@linkcode ReplayedDecisionError}.
 */
export async function recordAbortNonce(sql: Sql, request: AbortNonce): Promise<void> {
  const [fresh] = await sql`
    INSERT INTO decision_nonces (nonce, directive_id, action, actor)
    VALUES (${request.nonce}, ${request.directiveId}, 'abort', ${request.actor})
    ON CONFLICT (nonce) DO NOTHING RETURNING nonce`;
  if (fresh) return;
  const [seen] = await sql`
    SELECT 1 FROM decision_nonces
     WHERE nonce = ${request.nonce} AND directive_id = ${request.directiveId}
       AND action = 'abort' AND actor = ${request.actor}`;
  if (!seen) throw new ReplayedDecisionError(request.nonce);
}
