/**
 * Each policy rule's result for one directive, for the approver to read:
 * every rule of {@linkcode POLICY_RULES} is checked on its own (the engine
 * itself stops at the first failure), then the module's targets against
 * `net_allow`. Pure: the same checks {@linkcode evaluatePolicy} runs, with a
 * line saying what passed.
 *
 * @module
 */
import type { DirectiveInput } from "../models/mod.ts";
import { formatBudget } from "./budget.ts";
import type { PolicyConfig } from "./config.ts";
import { POLICY_RULES, type PolicyRuleName, ruleFailure } from "./evaluate.ts";
import { grantPermissions } from "./permissions.ts";
import type { ModuleDeclaration } from "./step.ts";

/** One rule's result. */
export interface RuleResult {
  /** The rule, as `policy_evaluations.rule` names it. */
  readonly rule: PolicyRuleName | "net_allow";
  /** `pass`, `fail`, or `not_checked` (no module serves the type, for `net_allow`). */
  readonly result: "pass" | "fail" | "not_checked";
  /** What was checked and against which limit; on `fail`, the engine's own reason. */
  readonly detail: string;
}

function passDetail(rule: PolicyRuleName, d: DirectiveInput, policy: PolicyConfig): string {
  switch (rule) {
    case "allowed_types":
      return `type "${d.type}" is one of the ${policy.allowed_types.length} allowed types`;
    case "budget_ceiling": {
      const ceiling = policy.budget_ceilings[d.type];
      return `budget ${formatBudget(d.budget)} is within the ${d.type} ceiling ${
        ceiling === undefined ? "(none)" : formatBudget(ceiling)
      }`;
    }
    case "max_timebox":
      return `timebox ${d.timebox}s is within the maximum ${policy.max_timebox_seconds}s`;
    case "required_fields": {
      const paths = Object.hasOwn(policy.required_fields, d.type)
        ? policy.required_fields[d.type] ?? []
        : [];
      return paths.length === 0
        ? `type "${d.type}" requires no fields`
        : `present: ${paths.join(", ")}`;
    }
    case "scope_deny":
      return `none of ${d.scope.length} scope item(s) matches the ${policy.scope_deny.length} ` +
        `scope_deny entr${policy.scope_deny.length === 1 ? "y" : "ies"}`;
  }
}

/**
 * Every rule's result for `directive` under `policy`, in the order the engine
 * checks them, then `net_allow` for `module`'s targets.
 */
export function explainPolicy(
  directive: DirectiveInput,
  policy: PolicyConfig,
  module: ModuleDeclaration | undefined,
): RuleResult[] {
  const results: RuleResult[] = POLICY_RULES.map((rule) => {
    const failure = ruleFailure(rule, directive, policy);
    return failure === undefined
      ? { rule, result: "pass", detail: passDetail(rule, directive, policy) }
      : { rule, result: "fail", detail: failure };
  });
  if (module === undefined) {
    results.push({
      rule: "net_allow",
      result: "not_checked",
      detail: `no execution module serves type "${directive.type}"`,
    });
    return results;
  }
  const targets = module.targets(directive.payload);
  const grant = grantPermissions(
    { type: directive.type, declared: module.permissions, targets },
    policy,
  );
  results.push(
    grant.verdict === "BLOCK" ? { rule: "net_allow", result: "fail", detail: grant.reason } : {
      rule: "net_allow",
      result: "pass",
      detail: targets.length === 0
        ? "the run contacts no host"
        : `every target is allowed: ${targets.join(", ")}`,
    },
  );
  return results;
}
