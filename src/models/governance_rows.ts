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
});
/** A row of `policy_evaluations`. */
export type PolicyEvaluationRow = z.infer<typeof PolicyEvaluationRow>;

/** What recording a verdict takes. */
export const NewPolicyEvaluationRow = PolicyEvaluationRow.omit({ id: true, evaluated_at: true });
/** What recording a verdict takes. */
export type NewPolicyEvaluationRow = z.infer<typeof NewPolicyEvaluationRow>;

/** A row of `approvals`: the one human (or policy) decision on a directive. */
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
