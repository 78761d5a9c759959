/**
 * The shapes of the dashboard's read answers: the directive page (what an
 * approver approves), the inbox and the overview's aggregates. The routes
 * parse every answer with these before sending it, and the OpenAPI document
 * is generated from them.
 *
 * @module
 */
import { z } from "zod";
import { BLOCK_REASONS_MAX, STATS_DAYS_MAX } from "../stats/mod.ts";
import { INBOX_LIMIT_MAX } from "../directives/inbox.ts";

const iso = z.string().describe("ISO 8601 time");
const decimal = z.string().regex(/^\d+(\.\d+)?$/).describe("a decimal, as text");
const record = z.record(z.string(), z.unknown());
const Permissions = z.strictObject({
  net: z.array(z.string()).optional(),
  read: z.array(z.string()).optional(),
  write: z.array(z.string()).optional(),
  env: z.array(z.string()).optional(),
});

/** One policy rule's result on the directive page. */
export const RuleResultView = z.strictObject({
  rule: z.string(),
  result: z.enum(["pass", "fail", "not_checked"]),
  detail: z.string(),
});

/** The directive page: the stored records, and what the approver needs to decide. */
export const DirectiveView = z.strictObject({
  directive: record.describe("the directive's row: the frozen contract"),
  workflow_id: z.string(),
  ledger: z.array(record),
  policy: z.array(record),
  approvals: z.array(record),
  runs: z.array(record),
  artifacts: z.array(record),
  evaluations: z.array(record),
  working_memory: z.strictObject({
    entries: z.array(z.strictObject({
      key: z.string(),
      value: z.unknown(),
      version: z.number().int().describe("writes of this key, deletions included"),
      run_id: z.string(),
      attempt: z.number().int(),
      size_bytes: z.number().int(),
      written_at: iso,
    })).describe("live keys in key order, with the run that wrote each value"),
    bytes: z.number().int(),
    writes: z.number().int(),
    max_bytes: z.number().int(),
    max_writes: z.number().int(),
  }).describe("the scratchpad the directive's module read and wrote through its host API"),
  budget: z.strictObject({
    amount: decimal,
    currency: z.string(),
    reserved: decimal.describe("held by calls in flight"),
    spent: decimal.describe("final charges"),
  }),
  payload_bytes: z.number().int().min(0).describe("size of the payload as compact JSON"),
  module: z.strictObject({
    type: z.string(),
    description: z.string().nullable(),
    declared: Permissions.describe("what the module declares it may touch"),
    granted: Permissions.nullable().describe("what the ALLOW verdict grants its runs"),
    targets: z.array(z.string()).describe("host:port entries a run will contact"),
    retry_safe: z.boolean().nullable(),
    worst_case: decimal.nullable().describe("the most one run may spend"),
  }).nullable().describe("null when no module serves the type"),
  verdict: z.strictObject({
    verdict: z.enum(["ALLOW", "BLOCK"]),
    rule: z.string(),
    reason: z.string(),
    policy_name: z.string(),
    policy_version: z.string(),
    policy_sha256: z.string().nullable(),
    evaluated_at: iso,
    rules: z.array(RuleResultView).nullable()
      .describe("each rule's result; null when the deciding policy is not the active one"),
    rules_note: z.string(),
  }).nullable().describe("the first verdict; null before the policy step"),
  approval: z.strictObject({
    required: z.number().int().nullable(),
    approved_by: z.array(z.string()),
    rejected_by: z.array(z.string()),
    separate_submitter: z.boolean().nullable(),
    timeout_seconds: z.number().int().nullable(),
    deadline: iso.nullable(),
    seconds_left: z.number().int().nullable().describe("null unless the directive waits"),
  }),
  timeline: z.array(z.strictObject({
    status: z.string(),
    entered_at: iso,
    left_at: iso.nullable(),
    duration_ms: z.number().int().nullable(),
    ongoing: z.boolean(),
    actor: z.string(),
    reason: z.string(),
  })),
});
/** The directive page. */
export type DirectiveView = z.infer<typeof DirectiveView>;

/** The inbox query. */
export const InboxQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(INBOX_LIMIT_MAX).default(100),
});

/** The inbox: directives waiting for a decision, oldest first. */
export const InboxView = z.strictObject({
  total: z.number().int(),
  items: z.array(z.strictObject({
    id: z.string(),
    type: z.string(),
    objective: z.string(),
    issued_by: z.string(),
    submitted_by: z.string(),
    budget_amount: decimal,
    budget_currency: z.string(),
    waiting_since: iso,
    waiting_ms: z.number().int(),
    verdict_at: iso.nullable(),
    deadline: iso.nullable(),
    approvals: z.number().int(),
    approvals_required: z.number().int().nullable(),
  })),
});

/** The window of every aggregate: the last `days` whole UTC days. */
export const StatsQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(STATS_DAYS_MAX).default(14),
});

/** The BLOCK reasons query: a window and how many reasons. */
export const BlockReasonsQuery = StatsQuery.extend({
  limit: z.coerce.number().int().min(1).max(BLOCK_REASONS_MAX).default(10),
});

const Percentiles = z.strictObject({
  n: z.number().int(),
  p50_ms: z.number().nullable(),
  p95_ms: z.number().nullable(),
});
const days = z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/));

/** Each aggregate's answer, by its path under `/api/stats/`. */
export const StatsViews = {
  "status-per-day": z.strictObject({
    days,
    series: z.array(z.strictObject({ status: z.string(), counts: z.array(z.number().int()) })),
  }).describe("directives entering each status, per day"),
  "approval-waits": z.strictObject({
    days,
    overall: Percentiles,
    per_day: z.array(Percentiles),
    waiting_now: z.strictObject({ n: z.number().int(), oldest_since: iso.nullable() }),
  }).describe("time from proposed to a person's approval or rejection"),
  "run-durations": z.strictObject({
    modules: z.array(Percentiles.extend({ module: z.string(), max_ms: z.number() })),
  }).describe("durations of runs that ended, per module"),
  "spend": z.strictObject({
    days,
    series: z.array(z.strictObject({
      type: z.string(),
      currency: z.string(),
      total: decimal,
      amounts: z.array(decimal),
    })),
  }).describe("charged spend per type and currency, per day"),
  "block-reasons": z.strictObject({
    reasons: z.array(z.strictObject({
      rule: z.string(),
      reason: z.string(),
      count: z.number().int(),
    })),
  }).describe("the most frequent BLOCK reasons"),
} as const;
