/**
 * The approval inbox: directives waiting in `proposed`, oldest first, with
 * what an approver weighs before opening one: type, budget, how long it has
 * waited, its deadline and the approvals it has against its quorum.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** The most rows {@linkcode approvalInbox} answers. */
export const INBOX_LIMIT_MAX = 200;

/** A directive waiting for a decision. */
export interface InboxItem {
  /** The directive. */
  readonly id: string;
  /** Its type. */
  readonly type: string;
  /** Its objective. */
  readonly objective: string;
  /** Who the document says issued it. */
  readonly issued_by: string;
  /** The principal who submitted it. */
  readonly submitted_by: string;
  /** The budget amount (decimal text). */
  readonly budget_amount: string;
  /** The budget currency. */
  readonly budget_currency: string;
  /** When it entered `proposed` (ISO 8601). */
  readonly waiting_since: string;
  /** Milliseconds it has waited at `now`. */
  readonly waiting_ms: number;
  /** When its policy verdict was recorded (ISO 8601); null before the policy step. */
  readonly verdict_at: string | null;
  /** When the approval gate times out (verdict time + the timeout); null without a verdict or timeout. */
  readonly deadline: string | null;
  /** Distinct principals who approved so far. */
  readonly approvals: number;
  /** Distinct approvals the verdict requires; null without a verdict. */
  readonly approvals_required: number | null;
}

/** One page of the inbox. */
export interface Inbox {
  /** Oldest first. */
  readonly items: InboxItem[];
  /** How many directives wait in all. */
  readonly total: number;
}

/**
 * Directives in `proposed` (oldest first, at most `limit`), and how many
 * there are. `approvalTimeoutSeconds` is the gate's timeout (the policy's
 * `approval_timeout_seconds`), counted from the verdict; undefined when not known.
 */
export async function approvalInbox(
  sql: Sql,
  options: {
    readonly limit: number;
    readonly approvalTimeoutSeconds: number | undefined;
    readonly now: Date;
  },
): Promise<Inbox> {
  const limit = Math.min(Math.max(1, Math.trunc(options.limit)), INBOX_LIMIT_MAX);
  type Row = Omit<InboxItem, "waiting_since" | "waiting_ms" | "verdict_at" | "deadline"> & {
    waiting_since: Date;
    verdict_at: Date | null;
  };
  const rows = await sql<Row[]>`
    SELECT d.id, d.type, d.objective, d.issued_by, d.submitted_by,
           d.budget_amount::text AS budget_amount, d.budget_currency,
           coalesce((SELECT t.at FROM directive_transitions t
                      WHERE t.directive_id = d.id AND t.to_status = 'proposed'
                      ORDER BY t.id LIMIT 1), d.created_at) AS waiting_since,
           v.evaluated_at AS verdict_at, v.approvals_required,
           (SELECT count(DISTINCT a.actor)::int FROM approvals a
             WHERE a.directive_id = d.id AND a.decision = 'approved') AS approvals
      FROM directives d
      LEFT JOIN LATERAL (
        SELECT p.evaluated_at, p.approvals_required FROM policy_evaluations p
         WHERE p.directive_id = d.id ORDER BY p.evaluated_at LIMIT 1) v ON true
     WHERE d.status = 'proposed'
     ORDER BY d.created_at, d.id
     LIMIT ${limit}`;
  const [count] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM directives WHERE status = 'proposed'`;
  const timeoutMs = options.approvalTimeoutSeconds === undefined
    ? undefined
    : options.approvalTimeoutSeconds * 1000;
  return {
    total: count?.n ?? 0,
    items: rows.map((r) => ({
      ...r,
      waiting_since: r.waiting_since.toISOString(),
      waiting_ms: Math.max(0, options.now.getTime() - r.waiting_since.getTime()),
      verdict_at: r.verdict_at?.toISOString() ?? null,
      deadline: r.verdict_at === null || timeoutMs === undefined
        ? null
        : new Date(r.verdict_at.getTime() + timeoutMs).toISOString(),
    })),
  };
}
