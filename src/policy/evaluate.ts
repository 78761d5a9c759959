/**
 * Deterministic policy evaluation: a directive and a policy in, ALLOW or BLOCK
 * with a reason out. Pure: no I/O, no clock, no randomness, and the inputs are
 * never mutated.
 *
 * The rules are checked in this fixed order ({@linkcode POLICY_RULES}); the
 * first that fails blocks, and its reason names the value and the limit:
 *
 * 1. `allowed_types`: the directive's type is in `allowed_types`.
 * 2. `budget_ceiling`: the budget is in the ceiling's currency (no
 *    conversion: a different currency blocks) and does not exceed the
 *    ceiling for its type (equal is allowed). A type without a ceiling
 *    blocks too (config validation makes that impossible for parsed configs).
 * 3. `max_timebox`: the timebox (seconds) is at most `max_timebox_seconds`.
 * 4. `required_fields`: every path listed for the type is present and
 *    non-empty. A top-level field (`objective`, `success_metrics`, …) must be
 *    a non-empty string or list (or a non-empty object, for `payload`);
 *    `payload.a.b` walks own keys of objects (and decimal indexes of arrays)
 *    and must reach a value that is not null, not a blank string, not an
 *    empty list and not an empty object (`0` and `false` count as present).
 *    Keys that contain a dot cannot be addressed.
 * 5. `scope_deny`: no scope item is denied. An entry matches an item equal to
 *    it; an entry ending in `/*` matches the item before the `/*` and every
 *    item that starts with it followed by `/` (`secrets/*` matches `secrets`,
 *    `secrets/db` and `secrets/a/b`, not `secretsauce`). Matching ignores
 *    letter case (a deny list errs on the side of denying); items are
 *    otherwise compared as written (no trimming, no path normalisation, and a
 *    `*` in a directive's scope is a literal character).
 *
 * When every rule passes the verdict is ALLOW with rule `ok`. `auto_approve`
 * is true only on ALLOW and only for types in `auto_approve_types`.
 *
 * @module
 */
import type { DirectiveInput } from "../models/mod.ts";
import { compareBudgets, formatBudget } from "./budget.ts";
import type { PolicyConfig } from "./config.ts";

/** The rules, in the order they are checked. */
export const POLICY_RULES = [
  "allowed_types",
  "budget_ceiling",
  "max_timebox",
  "required_fields",
  "scope_deny",
] as const;

/** A rule that can block. */
export type PolicyRuleName = typeof POLICY_RULES[number];
/**
 * The rule a decision names: the one that blocked, `net_allow` when the
 * module's targets are outside the policy's allow-list (see `step.ts`), or `ok`.
 */
export type PolicyRule = PolicyRuleName | "net_allow" | "ok";
/** The verdict of the policy engine. */
export type PolicyVerdict = "ALLOW" | "BLOCK";

/** Longest reason, as the `policy_evaluations.reason` column allows. */
export const REASON_MAX_LENGTH = 2000;

/** The outcome of {@linkcode evaluatePolicy}. */
export interface PolicyDecision {
  /** ALLOW or BLOCK. */
  readonly verdict: PolicyVerdict;
  /** Why, naming the value and the limit; at most {@linkcode REASON_MAX_LENGTH} characters. */
  readonly reason: string;
  /** The rule that blocked, or `ok` on ALLOW. */
  readonly rule: PolicyRule;
  /** The policy's `name`. */
  readonly policy_name: string;
  /** The policy's `version`. */
  readonly policy_version: string;
  /** True only on ALLOW for a type in `auto_approve_types`. */
  readonly auto_approve: boolean;
  /** How long the approval gate waits, from the policy. */
  readonly approval_timeout_seconds: number;
  /** How many distinct principals must approve (1 on BLOCK and auto-approval). */
  readonly approvals_required: number;
  /** Whether the principal who submitted is kept from approving. */
  readonly separate_submitter: boolean;
}

/**
 * How many distinct approvers `directive` needs under `policy`: the default,
 * raised by every quorum rule that matches it.
 */
export function approvalsRequired(directive: DirectiveInput, policy: PolicyConfig): number {
  let required = policy.approvals.required;
  for (const rule of policy.approvals.rules) {
    if (rule.types !== undefined && !rule.types.includes(directive.type)) continue;
    if (rule.budget_above !== undefined) {
      const budget = directive.budget;
      const above = budget.currency !== rule.budget_above.currency ||
        compareBudgets(budget, rule.budget_above) > 0;
      if (!above) continue;
    }
    required = Math.max(required, rule.required);
  }
  return required;
}

/** A rule's failure. */
interface Failure {
  readonly rule: PolicyRuleName;
  readonly reason: string;
}

const LIST_SHOWN = 10;

function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function quoted(value: string): string {
  return JSON.stringify(value);
}

function clip(text: string): string {
  return text.length <= REASON_MAX_LENGTH ? text : `${text.slice(0, REASON_MAX_LENGTH - 1)}…`;
}

function listed(items: readonly string[]): string {
  const shown = items.slice(0, LIST_SHOWN).join(", ");
  return items.length > LIST_SHOWN ? `${shown}, … (${items.length} in all)` : shown;
}

function checkAllowedType(directive: DirectiveInput, policy: PolicyConfig): Failure | undefined {
  if (policy.allowed_types.includes(directive.type)) return undefined;
  return {
    rule: "allowed_types",
    reason: `type ${quoted(directive.type)} is not in the allowed types (${
      listed(policy.allowed_types)
    })`,
  };
}

function checkBudget(directive: DirectiveInput, policy: PolicyConfig): Failure | undefined {
  const ceiling = own(policy.budget_ceilings, directive.type);
  const budget = directive.budget;
  if (ceiling === undefined) {
    return {
      rule: "budget_ceiling",
      reason: `type ${quoted(directive.type)} has no budget ceiling, so no budget is allowed`,
    };
  }
  if (budget.currency !== ceiling.currency) {
    return {
      rule: "budget_ceiling",
      reason: `budget ${formatBudget(budget)} is in ${budget.currency} but the ${directive.type} ` +
        `ceiling ${formatBudget(ceiling)} is in ${ceiling.currency} (no currency conversion)`,
    };
  }
  if (compareBudgets(budget, ceiling) > 0) {
    return {
      rule: "budget_ceiling",
      reason: `budget ${formatBudget(budget)} exceeds the ${directive.type} ceiling ${
        formatBudget(ceiling)
      }`,
    };
  }
  return undefined;
}

function checkTimebox(directive: DirectiveInput, policy: PolicyConfig): Failure | undefined {
  if (directive.timebox <= policy.max_timebox_seconds) return undefined;
  return {
    rule: "max_timebox",
    reason: `timebox ${directive.timebox}s exceeds the maximum ${policy.max_timebox_seconds}s`,
  };
}

/** Whether a value counts as present for `required_fields`. */
function isPresent(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "string") return value.trim() !== "";
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/** Follows a dotted path from the directive; `undefined` when it leads nowhere. */
function lookup(directive: DirectiveInput, path: string): unknown {
  let current: unknown = directive;
  for (const segment of path.split(".")) {
    if (Array.isArray(current)) {
      current = /^(0|[1-9]\d*)$/.test(segment) ? current[Number(segment)] : undefined;
    } else if (typeof current === "object" && current !== null && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

function checkRequiredFields(directive: DirectiveInput, policy: PolicyConfig): Failure | undefined {
  const paths = own(policy.required_fields, directive.type) ?? [];
  const missing = paths.find((path) => !isPresent(lookup(directive, path)));
  if (missing === undefined) return undefined;
  return {
    rule: "required_fields",
    reason: `required field ${quoted(missing)} is missing or empty for type ${
      quoted(directive.type)
    }`,
  };
}

/** Whether a `scope_deny` entry matches a scope item (see the module docs). */
export function scopeDenied(entry: string, item: string): boolean {
  const rule = entry.toLowerCase();
  const value = item.toLowerCase();
  if (rule.endsWith("/*")) {
    const prefix = rule.slice(0, -2);
    return value === prefix || value.startsWith(`${prefix}/`);
  }
  return value === rule;
}

function checkScope(directive: DirectiveInput, policy: PolicyConfig): Failure | undefined {
  for (const item of directive.scope) {
    const entry = policy.scope_deny.find((candidate) => scopeDenied(candidate, item));
    if (entry !== undefined) {
      return {
        rule: "scope_deny",
        reason: `scope item ${quoted(item)} is denied by scope_deny entry ${quoted(entry)}`,
      };
    }
  }
  return undefined;
}

const CHECKS: Readonly<
  Record<PolicyRuleName, (directive: DirectiveInput, policy: PolicyConfig) => Failure | undefined>
> = {
  allowed_types: checkAllowedType,
  budget_ceiling: checkBudget,
  max_timebox: checkTimebox,
  required_fields: checkRequiredFields,
  scope_deny: checkScope,
};

/**
 * The reason `rule` fails for `directive` under `policy`, or undefined when it
 * passes: the same check {@linkcode evaluatePolicy} runs, on its own (for the
 * per-rule explanation in `explain.ts`).
 */
export function ruleFailure(
  rule: PolicyRuleName,
  directive: DirectiveInput,
  policy: PolicyConfig,
): string | undefined {
  const failure = CHECKS[rule](directive, policy);
  return failure === undefined ? undefined : clip(failure.reason);
}

/**
 * Evaluates a validated directive against a policy. Pure and deterministic:
 * the same inputs always give a deep-equal decision, and neither input is
 * mutated. Rules are checked in {@linkcode POLICY_RULES} order; the first
 * failure blocks.
 *
 * @example
 * ```ts
 * const decision = evaluatePolicy(directive, await loadPolicy("policies/default.json"));
 * if (decision.verdict === "BLOCK") console.log(decision.rule, decision.reason);
 * ```
 */
export function evaluatePolicy(directive: DirectiveInput, policy: PolicyConfig): PolicyDecision {
  const common = {
    policy_name: policy.name,
    policy_version: policy.version,
    approval_timeout_seconds: policy.approval_timeout_seconds,
    separate_submitter: policy.approvals.separate_submitter,
  };
  for (const rule of POLICY_RULES) {
    const failure = CHECKS[rule](directive, policy);
    if (failure) {
      return {
        verdict: "BLOCK",
        reason: clip(failure.reason),
        rule: failure.rule,
        auto_approve: false,
        approvals_required: 1,
        ...common,
      };
    }
  }
  const required = approvalsRequired(directive, policy);
  // A quorum rule outranks auto-approval: a directive that needs two people
  // is never approved by the policy alone.
  const autoApprove = policy.auto_approve_types.includes(directive.type) && required === 1;
  return {
    verdict: "ALLOW",
    reason: clip(
      `all rules passed under policy ${quoted(policy.name)} version ${policy.version}; ` +
        (autoApprove
          ? `type ${quoted(directive.type)} is auto-approved`
          : `${
            required === 1 ? "approval" : `${required} distinct approvals`
          } required within ${policy.approval_timeout_seconds}s`),
    ),
    rule: "ok",
    auto_approve: autoApprove,
    approvals_required: autoApprove ? 1 : required,
    ...common,
  };
}
