/**
 * The loop's policy step: evaluate a directive once, grant its runs their
 * permissions, record the verdict and, on BLOCK, move the directive to
 * `blocked`, all in one transaction. A stored verdict is reused, so a
 * restarted loop resumes where it was.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import { applyTransition, DirectiveNotFoundError, intentOf } from "../directives/mod.ts";
import {
  type DirectiveInput,
  DirectiveRow,
  type ModulePermissions,
  PolicyEvaluationRow,
} from "../models/mod.ts";
import type { PolicyConfig } from "./config.ts";
import { evaluatePolicy, type PolicyDecision } from "./evaluate.ts";
import { policyContentHash } from "./hash.ts";
import { grantPermissions } from "./permissions.ts";
import { recordPolicyEvaluation } from "./persist.ts";

/** What the loop learns from the policy step, and the state it resumes from. */
export interface PolicyStep {
  /** The directive's status after the step. */
  readonly status: string;
  /** ALLOW or BLOCK. */
  readonly verdict: "ALLOW" | "BLOCK";
  /** The verdict's reason. */
  readonly reason: string;
  /** Whether the policy approves without a human. */
  readonly autoApprove: boolean;
  /** How long to wait for a human. */
  readonly approvalTimeoutSeconds: number;
  /** `policy:<name>@<version>`, the actor of policy decisions. */
  readonly policyActor: string;
  /** The directive's timebox. */
  readonly timeboxSeconds: number;
  /** The highest attempt already recorded, 0 when none: a restarted loop resumes there. */
  readonly lastAttempt: number;
}

/** What the policy knows of the module a directive type selects. */
export interface ModuleDeclaration {
  /** What the module may touch at most. */
  readonly permissions: ModulePermissions;
  /** The `host:port` entries a run for `payload` will contact. */
  targets(payload: Readonly<Record<string, unknown>>): readonly string[];
}

/** The outcome of {@linkcode runPolicyStep}: the step, and the decision when it was made now. */
export interface PolicyStepResult {
  readonly step: PolicyStep;
  /** Present when this call evaluated the directive (not when a stored verdict was reused). */
  readonly fresh?: { readonly decision: PolicyDecision; readonly seconds: number };
}

/**
 * Decides the directive with the policy and the module's declaration: the
 * rules of {@linkcode evaluatePolicy}, then the module's targets against the
 * policy's `net_allow` (rule `net_allow`). On ALLOW the granted permission
 * set is part of the decision.
 */
export function decideWithPermissions(
  directive: DirectiveRow,
  policy: PolicyConfig,
  module: ModuleDeclaration | undefined,
): { decision: PolicyDecision; granted?: ModulePermissions } {
  return decideIntent(intentOf(directive), policy, module);
}

/**
 * {@linkcode decideWithPermissions} for a parsed directive document that is
 * not stored (an example, a candidate): the same decision the loop would make.
 */
export function decideIntent(
  intent: DirectiveInput,
  policy: PolicyConfig,
  module: ModuleDeclaration | undefined,
): { decision: PolicyDecision; granted?: ModulePermissions } {
  const decision = evaluatePolicy(intent, policy);
  if (decision.verdict === "BLOCK" || module === undefined) return { decision };
  const grant = grantPermissions(
    { type: intent.type, declared: module.permissions, targets: module.targets(intent.payload) },
    policy,
  );
  if (grant.verdict === "ALLOW") return { decision, granted: grant.granted };
  return {
    decision: {
      ...decision,
      verdict: "BLOCK",
      rule: "net_allow",
      reason: grant.reason,
      auto_approve: false,
    },
  };
}

/** Runs the policy step for a directive; see the module comment. */
export async function runPolicyStep(
  sql: Sql,
  directiveId: string,
  deps: { policy: PolicyConfig; moduleOf: (type: string) => ModuleDeclaration | undefined },
): Promise<PolicyStepResult> {
  const { policy } = deps;
  const policyActor = `policy:${policy.name}@${policy.version}`;
  return await sql.begin(async (tx) => {
    const [locked] = await tx`SELECT * FROM directives WHERE id = ${directiveId} FOR UPDATE`;
    if (!locked) throw new DirectiveNotFoundError(directiveId);
    let directive = DirectiveRow.parse(locked);
    const [stored] = await tx`
      SELECT * FROM policy_evaluations WHERE directive_id = ${directiveId}
       ORDER BY evaluated_at LIMIT 1`;
    let verdict: PolicyEvaluationRow;
    let fresh: PolicyStepResult["fresh"];
    if (stored) {
      verdict = PolicyEvaluationRow.parse(stored);
    } else {
      const started = performance.now();
      const { decision, granted } = decideWithPermissions(
        directive,
        policy,
        deps.moduleOf(directive.type),
      );
      fresh = { decision, seconds: (performance.now() - started) / 1000 };
      verdict = await recordPolicyEvaluation(tx, decision, {
        directiveId,
        policySha256: policyContentHash(policy),
        ...(granted === undefined ? {} : { granted }),
      });
      if (decision.verdict === "BLOCK" && directive.status === "proposed") {
        const moved = await applyTransition(tx, {
          directiveId,
          to: "blocked",
          actor: policyActor,
          reason: decision.reason,
          expectedVersion: directive.version,
        });
        directive = moved.directive;
      }
    }
    const [last] = await tx`
      SELECT attempt FROM execution_runs WHERE directive_id = ${directiveId}
       ORDER BY attempt DESC LIMIT 1`;
    const step: PolicyStep = {
      status: directive.status,
      verdict: verdict.verdict,
      reason: verdict.reason,
      autoApprove: verdict.auto_approve,
      approvalTimeoutSeconds: policy.approval_timeout_seconds,
      policyActor,
      timeboxSeconds: directive.timebox_seconds,
      lastAttempt: (last?.attempt as number | undefined) ?? 0,
    };
    return fresh ? { step, fresh } : { step };
  }) as PolicyStepResult;
}
