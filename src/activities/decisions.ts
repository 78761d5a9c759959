/**
 * Decision activities: every approve, reject and abort that reaches a loop
 * from outside is checked here before anything is recorded: its reason must
 * be storable, and its signature valid (see `src/auth/signing.ts`). A refusal
 * is a non-retryable failure, so a bad message never holds the loop.
 *
 * @module
 */
import { ApplicationFailure } from "@temporalio/activity";
import { trace } from "@opentelemetry/api";
import type { Sql } from "../db/mod.ts";
import { decideApproval, getDirective, recordAbortNonce } from "../directives/mod.ts";
import { type DecisionAction, type DecisionKey, verifyDecision } from "../auth/signing.ts";
import { DecisionReason } from "../models/decision_text.ts";
import { countDirective, recordApprovalWait } from "../telemetry/metrics.ts";
import type { DecisionReply } from "../workflows/directive/api.ts";
import { nonRetryable } from "./_failures.ts";

/** What the decision activities need. */
export interface DecisionActivityDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** The key decisions are signed with; without it every human decision is refused. */
  readonly decisionKey?: DecisionKey | undefined;
}

/** A decision as a loop passes it on: the message's fields and the directive. */
export interface DecisionRequest {
  /** The directive. */
  readonly directiveId: string;
  /** Who. */
  readonly actor: string;
  /** Why. */
  readonly reason: string;
  /** When it was signed (absent on the policy's own decision). */
  readonly issuedAt?: string;
  /** Its single-use nonce. */
  readonly nonce?: string;
  /** Its HMAC. */
  readonly signature?: string;
}

function checkReason(action: DecisionAction, reason: unknown): void {
  const parsed = DecisionReason.safeParse(reason);
  if (!parsed.success) {
    const why = parsed.error.issues.map((issue) => issue.message).join("; ");
    throw ApplicationFailure.nonRetryable(`${action}: reason ${why}`, "InvalidDecision");
  }
}

/** Builds the decision activities over injected dependencies. */
export function createDecisionActivities(deps: DecisionActivityDeps) {
  const { sql, decisionKey } = deps;

  return {
    /**
     * Records one decision at the approval gate (idempotent) and returns the
     * directive's status with the quorum so far. A person's decision must be
     * signed; the policy's own auto-approval (actor `policy:…`) is accepted
     * only when the stored verdict auto-approves.
     */
    async recordDecision(
      request: DecisionRequest & { readonly decision: "approved" | "rejected" },
    ): Promise<DecisionReply> {
      trace.getActiveSpan()?.setAttributes({
        "keel.directive.id": request.directiveId,
        "keel.decision": request.decision,
      });
      const action = request.decision === "approved" ? "approve" : "reject";
      const byPolicy = request.actor.startsWith("policy:");
      try {
        if (!byPolicy) {
          checkReason(action, request.reason);
          await verifyDecision(decisionKey, request.directiveId, action, request);
        }
        const result = await decideApproval(sql, {
          directiveId: request.directiveId,
          decision: request.decision,
          actor: request.actor,
          reason: request.reason,
          byPolicy,
          ...(request.nonce === undefined || byPolicy ? {} : { nonce: request.nonce }),
        });
        if (result.recorded && result.directive.status !== "proposed") {
          countDirective(result.directive.status);
          if (!byPolicy) {
            const waited = (Date.now() - result.directive.created_at.getTime()) / 1000;
            recordApprovalWait(request.decision, Math.max(0, waited));
          }
        }
        return {
          decision: result.approval.decision,
          directiveStatus: result.directive.status,
          approvals: result.approvals,
          required: result.required,
        };
      } catch (error) {
        return nonRetryable(error);
      }
    },

    /**
     * Checks an abort sent to a loop before the loop acts on it: a storable
     * reason, a valid signature, a nonce not used before. Returns the
     * directive's status.
     */
    async verifyAbort(request: DecisionRequest): Promise<string> {
      trace.getActiveSpan()?.setAttributes({ "keel.directive.id": request.directiveId });
      try {
        checkReason("abort", request.reason);
        await verifyDecision(decisionKey, request.directiveId, "abort", request);
        await recordAbortNonce(sql, {
          nonce: request.nonce!,
          directiveId: request.directiveId,
          actor: request.actor,
        });
        return (await getDirective(sql, request.directiveId)).status;
      } catch (error) {
        return nonRetryable(error);
      }
    },
  };
}

/** The decision activities, for `proxyActivities`. */
export type DecisionActivities = ReturnType<typeof createDecisionActivities>;
