/**
 * Policy what-if: the stored directives of a period decided by the active
 * policy and by a candidate, with the same deterministic decision the loop
 * makes ({@linkcode decideWithPermissions}: the rules, then the module's
 * targets against `net_allow`, granting permissions on ALLOW), listing each
 * directive whose outcome would change. Everything is read in one `READ ONLY`
 * transaction: Postgres itself refuses any write (SQLSTATE 25006), and
 * nothing is recorded.
 *
 * What counts as a change (generic over the decision's shape, so rules added
 * to the config later are compared too):
 *
 * - both BLOCK: no change (the directive is blocked either way, whatever the
 *   rule and reason);
 * - otherwise every field of the two decisions, plus the granted permission
 *   set, is compared, except the policy's identity (`policy_name`,
 *   `policy_version`), the explanation (`reason`, `rule`) and the policy-wide
 *   `approval_timeout_seconds`. The names of the fields that differ are
 *   listed (`verdict`, `auto_approve`, `granted`, …).
 *
 * @module
 */
import type { Sql, TransactionSql } from "../db/mod.ts";
import { DirectiveRow, type ModulePermissions } from "../models/mod.ts";
import type { PolicyConfig } from "./config.ts";
import type { PolicyDecision } from "./evaluate.ts";
import { canonicalJson, policyContentHash } from "./hash.ts";
import { decideWithPermissions, type ModuleDeclaration } from "./step.ts";

/** Bounds on {@linkcode policyWhatIf}. */
export const WHAT_IF_LIMITS = {
  /** Directives examined when no limit is given. */
  defaultLimit: 1000,
  /** The most directives one call examines. */
  maxLimit: 10_000,
} as const;

/** Decision fields that are not a directive's outcome: not compared. */
const NOT_COMPARED: ReadonlySet<string> = new Set([
  "policy_name",
  "policy_version",
  "reason",
  "rule",
  "approval_timeout_seconds",
]);

/** Thrown when {@linkcode policyWhatIf} is given bad options; nothing is read. */
export class PolicyWhatIfError extends Error {
  /** The offending option. */
  readonly field: string;
  /** Creates the error. */
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PolicyWhatIfError";
    this.field = field;
  }
}

/** What {@linkcode policyWhatIf} compares, and over which directives. */
export interface PolicyWhatIfOptions {
  /** The policy in force. */
  readonly active: PolicyConfig;
  /** The policy that might replace it. */
  readonly candidate: PolicyConfig;
  /** Directives created at or after this instant are examined. */
  readonly since: Date;
  /** At most this many, newest first (1 to 10 000; default 1000). */
  readonly limit?: number;
  /** The module a directive type selects, as the loop sees it (`registry.find`). */
  readonly moduleOf: (type: string) => ModuleDeclaration | undefined;
}

/** One policy's decision on a directive: the evaluator's decision and the grant. */
export type WhatIfDecision = PolicyDecision & {
  /** The permission set its runs would get (ALLOW with a known module), else null. */
  readonly granted: ModulePermissions | null;
};

/** A directive whose outcome would change. */
export interface WhatIfChange {
  /** The directive. */
  readonly directive_id: string;
  /** Its type. */
  readonly type: string;
  /** Its status now. */
  readonly status: string;
  /** When it was created. */
  readonly created_at: Date;
  /** The compared fields that differ, e.g. `["verdict"]` or `["granted"]`. */
  readonly differs: readonly string[];
  /** The active policy's decision. */
  readonly active: WhatIfDecision;
  /** The candidate's decision. */
  readonly candidate: WhatIfDecision;
}

/** A policy's identity in a what-if. */
export interface WhatIfPolicy {
  readonly name: string;
  readonly version: string;
  /** Its content hash ({@linkcode policyContentHash}). */
  readonly sha256: string;
}

/** The outcome of {@linkcode policyWhatIf}. */
export interface PolicyWhatIfResult {
  readonly active: WhatIfPolicy;
  readonly candidate: WhatIfPolicy;
  /** The start of the period examined. */
  readonly since: Date;
  /** How many directives were decided by both policies. */
  readonly examined: number;
  /** True when more directives of the period exist than the limit let through. */
  readonly limited: boolean;
  /** Postgres' `transaction_read_only` inside the transaction that read: always true. */
  readonly read_only: boolean;
  /** The directives whose outcome would change, newest first. */
  readonly changes: readonly WhatIfChange[];
}

/** Runs `fn` in a `READ ONLY` transaction: Postgres refuses every write in it (25006). */
export async function readOnlyTransaction<T>(
  sql: Sql,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin("read only", fn) as T;
}

function decide(
  directive: DirectiveRow,
  policy: PolicyConfig,
  module: ModuleDeclaration | undefined,
): WhatIfDecision {
  const { decision, granted } = decideWithPermissions(directive, policy, module);
  return { ...decision, granted: granted ?? null };
}

/** The compared fields on which two decisions differ; see the module comment. */
export function decisionDifferences(active: WhatIfDecision, candidate: WhatIfDecision): string[] {
  if (active.verdict === "BLOCK" && candidate.verdict === "BLOCK") return [];
  const a = active as unknown as Record<string, unknown>;
  const b = candidate as unknown as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((field) => !NOT_COMPARED.has(field));
  const text = (value: unknown) => value === undefined ? "" : canonicalJson(value);
  const differs = fields.filter((field) => text(a[field]) !== text(b[field]));
  // The verdict first, then the rest in name order.
  return differs.sort((x, y) => x === "verdict" ? -1 : y === "verdict" ? 1 : x.localeCompare(y));
}

function checkOptions(options: PolicyWhatIfOptions): number {
  const limit = options.limit ?? WHAT_IF_LIMITS.defaultLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > WHAT_IF_LIMITS.maxLimit) {
    throw new PolicyWhatIfError(
      "limit",
      `Cannot run a policy what-if: limit ${
        JSON.stringify(limit)
      } must be a whole number from 1 to ${WHAT_IF_LIMITS.maxLimit}`,
    );
  }
  if (!(options.since instanceof Date) || Number.isNaN(options.since.getTime())) {
    throw new PolicyWhatIfError(
      "since",
      `Cannot run a policy what-if: since ${JSON.stringify(String(options.since))} is not a time`,
    );
  }
  return limit;
}

function identity(policy: PolicyConfig): WhatIfPolicy {
  return { name: policy.name, version: policy.version, sha256: policyContentHash(policy) };
}

/**
 * Decides the directives created since `options.since` (newest first, at
 * most `options.limit`) with both policies, in one read-only transaction,
 * and returns those whose outcome would change. Writes nothing.
 *
 * @example
 * ```ts
 * const result = await policyWhatIf(sql, {
 *   active, candidate, since: new Date(Date.now() - 7 * 86_400_000),
 *   moduleOf: (type) => registry.find(type),
 * });
 * console.log(`examined ${result.examined}, changed ${result.changes.length}`);
 * ```
 * @throws {PolicyWhatIfError} when `limit` or `since` is bad (naming it), before any read.
 */
export async function policyWhatIf(
  sql: Sql,
  options: PolicyWhatIfOptions,
): Promise<PolicyWhatIfResult> {
  const limit = checkOptions(options);
  const { active, candidate, since, moduleOf } = options;
  return await readOnlyTransaction(sql, async (tx) => {
    const [setting] = await tx<{ read_only: string }[]>`
      SELECT current_setting('transaction_read_only') AS read_only`;
    const rows = await tx<Record<string, unknown>[]>`
      SELECT * FROM directives WHERE created_at >= ${since}
       ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`;
    const limited = rows.length > limit;
    const directives = rows.slice(0, limit).map((row) => DirectiveRow.parse(row));
    const changes: WhatIfChange[] = [];
    for (const directive of directives) {
      const module = moduleOf(directive.type);
      const before = decide(directive, active, module);
      const after = decide(directive, candidate, module);
      const differs = decisionDifferences(before, after);
      if (differs.length === 0) continue;
      changes.push({
        directive_id: directive.id,
        type: directive.type,
        status: directive.status,
        created_at: directive.created_at,
        differs,
        active: before,
        candidate: after,
      });
    }
    return {
      active: identity(active),
      candidate: identity(candidate),
      since,
      examined: directives.length,
      limited,
      read_only: setting?.read_only === "on",
      changes,
    };
  });
}
