/**
 * The policy engine: deterministic evaluation of a directive against a
 * versioned policy config (ALLOW | BLOCK with a reason), budget parsing and
 * exact comparison, recording verdicts in `policy_evaluations` with the
 * policy's content hash, and the what-if of a candidate policy over stored
 * directives.
 *
 * @example
 * ```ts
 * import { evaluatePolicy, loadPolicy, recordPolicyEvaluation } from "./src/policy/mod.ts";
 *
 * const policy = await loadPolicy("policies/default.json");
 * const decision = evaluatePolicy(directive, policy);
 * await recordPolicyEvaluation(sql, decision, { directiveId });
 * ```
 *
 * @module
 */
export {
  ACCEPTED_BUDGET_FORMS,
  type Budget,
  BUDGET_MAX_DECIMAL_PLACES,
  BUDGET_MAX_INTEGER_DIGITS,
  BudgetParseError,
  compareBudgets,
  CurrencyMismatchError,
  formatBudget,
  parseBudget,
} from "./budget.ts";
export { type Iso4217Entry, ISO_4217, ISO_4217_CODES } from "./_iso4217.ts";
export {
  loadPolicy,
  parsePolicy,
  POLICY_LIMITS,
  type PolicyConfig,
  PolicyConfigError,
  PolicyConfigSchema,
  type PolicyDocument,
  type PolicyIssue,
} from "./config.ts";
export {
  evaluatePolicy,
  POLICY_RULES,
  type PolicyDecision,
  type PolicyRule,
  type PolicyRuleName,
  type PolicyVerdict,
  REASON_MAX_LENGTH,
  ruleFailure,
  scopeDenied,
} from "./evaluate.ts";
export { explainPolicy, type RuleResult } from "./explain.ts";
export { canonicalJson, CanonicalJsonError, policyContentHash, SHA256_HEX } from "./hash.ts";
export { grantPermissions, type PermissionGrant, type PermissionRequest } from "./permissions.ts";
export { grantedPermissions, PolicyPersistError, recordPolicyEvaluation } from "./persist.ts";
export {
  decideIntent,
  decideWithPermissions,
  type ModuleDeclaration,
  type PolicyStep,
  type PolicyStepResult,
  runPolicyStep,
} from "./step.ts";
export {
  decisionDifferences,
  policyWhatIf,
  PolicyWhatIfError,
  type PolicyWhatIfOptions,
  type PolicyWhatIfResult,
  readOnlyTransaction,
  WHAT_IF_LIMITS,
  type WhatIfChange,
  type WhatIfDecision,
  type WhatIfPolicy,
} from "./what_if.ts";
