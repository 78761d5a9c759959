/**
 * The directive page's answer: everything recorded about a directive, plus
 * what an approver needs to decide. The frozen contract, the budget with
 * what is reserved and spent (`spendOf`), the module the type selects and
 * its permissions, each policy rule's result, the approval deadline and
 * quorum, and the phases read from the ledger.
 *
 * Each rule's result is not stored (a verdict records the deciding rule and
 * its reason). It is recomputed with {@linkcode explainPolicy} only when the
 * server's active policy is the one that decided, by content hash
 * (`policy_sha256`); otherwise the page shows the deciding rule alone and
 * says why.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import { spendOf } from "../budget/mod.ts";
import { intentOf, timelineOf } from "../directives/mod.ts";
import { directiveDetail } from "../directives/queries.ts";
import { DirectiveRow, PolicyEvaluationRow } from "../models/mod.ts";
import {
  explainPolicy,
  type ModuleDeclaration,
  type PolicyConfig,
  policyContentHash,
} from "../policy/mod.ts";
import { DirectiveView } from "./views.ts";

/** What the page shows of the module a directive type selects. */
export interface ModuleInfo extends ModuleDeclaration {
  /** One line on what it does. */
  readonly description?: string;
  /** Whether a run may be repeated for this payload. */
  retrySafe?(payload: Readonly<Record<string, unknown>>): boolean;
  /** The most one run may spend for this payload. */
  worstCase?(payload: Readonly<Record<string, unknown>>): string;
}

/** What {@linkcode directiveView} reads. */
export interface DirectiveViewDeps {
  /** The app-role pool. */
  readonly sql: Sql;
  /** The active policy, when the server has one. */
  readonly policy?: PolicyConfig | undefined;
  /** The module each type runs. */
  readonly moduleOf?: ((type: string) => ModuleInfo | undefined) | undefined;
}

function rulesOf(
  verdict: PolicyEvaluationRow,
  row: DirectiveRow,
  policy: PolicyConfig | undefined,
  module: ModuleInfo | undefined,
) {
  if (policy === undefined) {
    return { rules: null, rules_note: "the server has no active policy to explain the verdict" };
  }
  const active = policyContentHash(policy);
  if (verdict.policy_sha256 === null) {
    return {
      rules: null,
      rules_note: "the verdict predates policy hashes: only its rule is known",
    };
  }
  if (verdict.policy_sha256 !== active) {
    return {
      rules: null,
      rules_note: `decided by policy sha256 ${verdict.policy_sha256.slice(0, 12)}…, not the ` +
        `active policy (${active.slice(0, 12)}…): only the deciding rule is known`,
    };
  }
  return {
    rules: explainPolicy(intentOf(row), policy, module),
    rules_note: `each rule re-checked with the active policy ${policy.name} ` +
      `${policy.version}, the one that decided (same sha256)`,
  };
}

/** The directive page's answer for `id` at `now`; throws `DirectiveNotFoundError`. */
export async function directiveView(
  deps: DirectiveViewDeps,
  id: string,
  now: Date,
): Promise<DirectiveView> {
  const detail = await directiveDetail(deps.sql, id);
  const row = DirectiveRow.parse(detail.directive);
  const spend = await spendOf(deps.sql, id);
  const payload = (row.payload ?? {}) as Record<string, unknown>;
  const module = deps.moduleOf?.(row.type);
  const verdicts = detail.policy.map((p) => PolicyEvaluationRow.parse(p));
  const first = verdicts[0];
  const latest = verdicts.at(-1);
  const decided = (decision: string) => [
    ...new Set(
      detail.approvals.filter((a) => a.decision === decision).map((a) => String(a.actor)),
    ),
  ];
  const timeout = deps.policy?.approval_timeout_seconds ?? null;
  const deadline = first === undefined || timeout === null
    ? null
    : new Date(first.evaluated_at.getTime() + timeout * 1000);
  const waiting = row.status === "proposed" && first?.verdict === "ALLOW";
  return DirectiveView.parse({
    ...detail,
    working_memory: {
      ...detail.working_memory,
      entries: detail.working_memory.entries.map((entry) => ({
        ...entry,
        written_at: entry.written_at.toISOString(),
      })),
    },
    budget: {
      amount: row.budget_amount,
      currency: row.budget_currency,
      reserved: spend.reserved,
      spent: spend.charged,
    },
    payload_bytes: new TextEncoder().encode(JSON.stringify(payload)).length,
    module: module === undefined ? null : {
      type: row.type,
      description: module.description ?? null,
      declared: { ...module.permissions },
      granted: first?.granted_permissions ?? null,
      targets: [...module.targets(payload)],
      retry_safe: module.retrySafe?.(payload) ?? null,
      worst_case: module.worstCase?.(payload) ?? null,
    },
    verdict: first === undefined ? null : {
      verdict: first.verdict,
      rule: first.rule,
      reason: first.reason,
      policy_name: first.policy_name,
      policy_version: first.policy_version,
      policy_sha256: first.policy_sha256,
      evaluated_at: first.evaluated_at.toISOString(),
      ...rulesOf(first, row, deps.policy, module),
    },
    approval: {
      required: latest?.approvals_required ?? null,
      approved_by: decided("approved"),
      rejected_by: decided("rejected"),
      separate_submitter: latest?.separate_submitter ?? null,
      timeout_seconds: timeout,
      deadline: deadline?.toISOString() ?? null,
      seconds_left: waiting && deadline !== null
        ? Math.max(0, Math.floor((deadline.getTime() - now.getTime()) / 1000))
        : null,
    },
    timeline: timelineOf(
      detail.ledger.map((t) => ({
        from_status: t.from_status as string | null,
        to_status: String(t.to_status),
        actor: String(t.actor),
        reason: String(t.reason),
        at: t.at as Date,
      })),
      now,
    ),
  });
}
