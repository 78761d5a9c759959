/**
 * Recording verdicts: one `policy_evaluations` row per evaluation, naming
 * the deciding policy by name, version and content hash. The only file of
 * `src/policy/` that writes to the database (`what_if.ts` only reads).
 *
 * The row keeps the rule that decided; `approval_timeout_seconds` stays in
 * the decision, which the approval gate receives directly.
 *
 * @module
 */
import type { Sql, TransactionSql } from "../db/mod.ts";
import { type ModulePermissions, PermissionSet, PolicyEvaluationRow } from "../models/mod.ts";
import type { PolicyDecision } from "./evaluate.ts";

/** Thrown when a verdict cannot be recorded; `cause` holds the database error. */
export class PolicyPersistError extends Error {
  /** The directive whose verdict was being recorded. */
  readonly directiveId: string;
  /** Creates the error. */
  constructor(directiveId: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PolicyPersistError";
    this.directiveId = directiveId;
  }
}

/**
 * Inserts one `policy_evaluations` row for `options.directiveId` and returns it as
 * stored. Values are sent as parameters only. The decision is not re-checked
 * here: the table's CHECK constraints (verdict ALLOW/BLOCK, auto-approve only
 * on ALLOW, lengths) are the last word, and a refused row writes nothing.
 *
 * @param sql a pool or an open transaction.
 * @throws {PolicyPersistError} when the database refuses the row (cause: the Postgres error).
 */
export async function recordPolicyEvaluation(
  sql: Sql | TransactionSql,
  decision: PolicyDecision,
  options: {
    readonly directiveId: string;
    readonly granted?: ModulePermissions;
    /** The deciding policy's content hash (`policyContentHash`); omitted: NULL. */
    readonly policySha256?: string;
  },
): Promise<PolicyEvaluationRow> {
  const { directiveId } = options;
  const policySha256 = options.policySha256 ?? null;
  const granted = options.granted === undefined ? null : sql.json(options.granted as never);
  let rows: Record<string, unknown>[];
  try {
    rows = await sql<Record<string, unknown>[]>`
      INSERT INTO policy_evaluations
        (directive_id, policy_name, policy_version, verdict, reason, rule, auto_approve,
         granted_permissions, policy_sha256, approvals_required, separate_submitter)
      VALUES (${directiveId}, ${decision.policy_name}, ${decision.policy_version},
        ${decision.verdict}, ${decision.reason}, ${decision.rule}, ${decision.auto_approve},
        ${granted}, ${policySha256}, ${decision.approvals_required},
        ${decision.separate_submitter})
      RETURNING *`;
  } catch (cause) {
    throw new PolicyPersistError(
      directiveId,
      `Cannot record policy evaluation ${
        JSON.stringify(decision.verdict)
      } for directive "${directiveId}": ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  const [row] = rows;
  if (row === undefined) {
    throw new PolicyPersistError(
      directiveId,
      `Cannot record policy evaluation for directive "${directiveId}": INSERT returned no row`,
    );
  }
  return PolicyEvaluationRow.parse({ ...row });
}

/**
 * The permission set the directive's verdict granted its runs; `null` when
 * the verdict predates grants or there is none.
 */
export async function grantedPermissions(
  sql: Sql,
  directiveId: string,
): Promise<PermissionSet | null> {
  const [row] = await sql<{ granted: unknown }[]>`
    SELECT granted_permissions AS granted FROM policy_evaluations
     WHERE directive_id = ${directiveId} ORDER BY evaluated_at LIMIT 1`;
  return row?.granted ? PermissionSet.parse(row.granted) : null;
}
