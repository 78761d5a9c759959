import { z } from "zod";
import { col, pg } from "./_pg.ts";
import { PermissionSet } from "./permissions.ts";

/** A row of `policy_evaluations`: one verdict of the policy engine. */
export const PolicyEvaluationRow = z.strictObject({
  id: col.uuid(),
  directive_id: col.uuid(),
  policy_name: col.text(200),
  policy_version: col.text(100),
  verdict: pg("text", z.enum(["ALLOW", "BLOCK"])),
  reason: col.text(2000),
  rule: col.slug(),
  auto_approve: col.boolean(),
  /** The permissions the directive's runs get (ALLOW only); absent on older rows. */
  granted_permissions: pg("jsonb", PermissionSet).nullable(),
  /** SHA-256 of the deciding policy's canonical JSON (src/policy/hash.ts); null on older rows. */
  policy_sha256: pg("text", z.string().regex(/^[0-9a-f]{64}$/)).nullable(),
  evaluated_at: col.timestamp(),
  /** Distinct principals who must approve; 1 on rows from before quorums. */
  approvals_required: pg("integer", z.number().int().min(1).max(10)),
  /** Whether the submitter is kept from approving; false on rows from before it. */
  separate_submitter: col.boolean(),
});
/** A row of `policy_evaluations`. */
export type PolicyEvaluationRow = z.infer<typeof PolicyEvaluationRow>;

/** What recording a verdict takes. */
export const NewPolicyEvaluationRow = PolicyEvaluationRow.omit({ id: true, evaluated_at: true });

/** A row of `decision_nonces`: a signed decision's single-use nonce, once seen. */
export const DecisionNonceRow = z.strictObject({
  id: col.uuid(),
  nonce: col.text(100),
  directive_id: col.uuid(),
  action: pg("text", z.enum(["approve", "reject", "abort"])),
  actor: col.text(200),
  used_at: col.timestamp(),
});
/** A row of `decision_nonces`. */
export type DecisionNonceRow = z.infer<typeof DecisionNonceRow>;

/** What recording a nonce takes. */
export const NewDecisionNonceRow = DecisionNonceRow.omit({ id: true, used_at: true });
/** What recording a nonce takes. */
export type NewDecisionNonceRow = z.infer<typeof NewDecisionNonceRow>;
/** What recording a verdict takes. */
export type NewPolicyEvaluationRow = z.infer<typeof NewPolicyEvaluationRow>;

/** A row of `approvals`: one principal's decision on a directive (a quorum may need several). */
export const ApprovalRow = z.strictObject({
  id: col.uuid(),
  directive_id: col.uuid(),
  decision: pg("text", z.enum(["approved", "rejected"])),
  actor: col.text(200),
  reason: col.text(2000),
  decided_at: col.timestamp(),
});
/** A row of `approvals`. */
export type ApprovalRow = z.infer<typeof ApprovalRow>;

/** What recording a decision takes. */
export const NewApprovalRow = ApprovalRow.omit({ id: true, decided_at: true });
/** What recording a decision takes. */
export type NewApprovalRow = z.infer<typeof NewApprovalRow>;
