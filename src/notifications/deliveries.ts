/**
 * The delivery log: which deliveries are due, leasing them so one notifier
 * sends each at a time, and recording every attempt with its answer and
 * latency. A delivery is retried with exponential backoff until it succeeds
 * or runs out of attempts.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";

/** A delivery ready to send: the event, where it goes and how it is signed. */
export interface DueDelivery {
  readonly delivery_id: string;
  readonly attempts: number;
  readonly event_id: string;
  readonly event_type: string;
  readonly directive_id: string;
  readonly data: Record<string, unknown>;
  readonly occurred_at: Date;
  readonly subscription: string;
  readonly url: string;
  readonly secret: string;
  readonly format: "standard" | "slack";
}

/** One attempt's result. */
export interface AttemptResult {
  /** The receiver's HTTP status, or null when no answer came. */
  readonly statusCode: number | null;
  /** Why no 2xx answer came, at most 500 characters. */
  readonly error: string | null;
  /** Milliseconds from sending to the answer (or the failure). */
  readonly latencyMs: number;
}

/** How retries are spaced and bounded. */
export interface RetryPolicy {
  /** Attempts before a delivery is marked failed. */
  readonly maxAttempts: number;
  /** The longest wait between attempts, in seconds (waits double from 1 s). */
  readonly maxBackoffSeconds: number;
}

/** Seconds to wait after attempt `attempt` failed: 1, 2, 4, … capped. */
export function backoffSeconds(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.maxBackoffSeconds, 2 ** Math.max(0, attempt - 1));
}

/**
 * Leases up to `limit` due deliveries for `leaseSeconds`: another notifier
 * skips them until the lease ends, so a crashed sender's deliveries are sent
 * again later, with the same event id.
 */
export async function leaseDue(
  sql: Sql,
  limit: number,
  leaseSeconds: number,
): Promise<DueDelivery[]> {
  return [
    ...await sql<DueDelivery[]>`
      WITH due AS (
        SELECT id FROM webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT ${limit}
         FOR UPDATE SKIP LOCKED
      ), leased AS (
        UPDATE webhook_deliveries d
           SET next_attempt_at = now() + make_interval(secs => ${leaseSeconds})
          FROM due WHERE d.id = due.id
        RETURNING d.id, d.attempts, d.event_id, d.subscription_id
      )
      SELECT l.id AS delivery_id, l.attempts, e.id AS event_id, e.type AS event_type,
             e.directive_id, e.data, e.occurred_at, s.name AS subscription, s.url, s.secret,
             s.format
        FROM leased l
        JOIN webhook_events e ON e.id = l.event_id
        JOIN webhook_subscriptions s ON s.id = l.subscription_id`,
  ];
}

/** Records one attempt and moves the delivery on: delivered, failed, or due again later. */
export async function recordAttempt(
  sql: Sql,
  delivery: Pick<DueDelivery, "delivery_id" | "attempts">,
  result: AttemptResult,
  policy: RetryPolicy,
): Promise<"delivered" | "failed" | "pending"> {
  const attempt = delivery.attempts + 1;
  const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const status = ok ? "delivered" : attempt >= policy.maxAttempts ? "failed" : "pending";
  const wait = backoffSeconds(attempt, policy);
  await sql.begin(async (tx) => {
    await tx`
      INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, latency_ms)
      VALUES (${delivery.delivery_id}, ${attempt}, ${result.statusCode},
              ${result.error?.slice(0, 500) ?? null}, ${Math.max(0, Math.round(result.latencyMs))})
      ON CONFLICT (delivery_id, attempt) DO NOTHING`;
    await tx`
      UPDATE webhook_deliveries
         SET attempts = ${attempt}, status = ${status},
             delivered_at = CASE WHEN ${ok} THEN now() ELSE NULL END,
             next_attempt_at = now() + make_interval(secs => ${wait})
       WHERE id = ${delivery.delivery_id} AND attempts = ${delivery.attempts}`;
  });
  return status;
}

/** A directive's deliveries with their attempts, oldest event first (for the API and dashboard). */
export async function deliveriesOf(sql: Sql, directiveId: string) {
  return [
    ...await sql`
      SELECT d.id, d.event_id, e.type AS event_type, s.name AS subscription, d.status,
             d.attempts, d.delivered_at, d.next_attempt_at,
             coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'attempt', a.attempt, 'status_code', a.status_code, 'error', a.error,
                        'latency_ms', a.latency_ms, 'at', a.attempted_at) ORDER BY a.attempt)
                         FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]') AS log
        FROM webhook_deliveries d
        JOIN webhook_events e ON e.id = d.event_id
        JOIN webhook_subscriptions s ON s.id = d.subscription_id
       WHERE e.directive_id = ${directiveId}
       ORDER BY e.occurred_at, s.name`,
  ];
}

/** One attempt as the log shows it. */
interface LoggedAttempt {
  readonly attempt: number;
  readonly status_code: number | null;
  readonly error: string | null;
  readonly latency_ms: number;
}

/** The delivery log as lines of text: each delivery, then its attempts. */
export function formatDeliveryLog(rows: readonly Record<string, unknown>[]): string[] {
  if (rows.length === 0) return ["no webhook deliveries for this directive"];
  return rows.flatMap((row) => [
    `${row.event_type} → ${row.subscription}: ${row.status} after ${row.attempts} attempt(s)`,
    ...(row.log as LoggedAttempt[]).map((a) =>
      `  #${a.attempt} ${a.status_code ?? "-"} ${a.latency_ms} ms${a.error ? ` ${a.error}` : ""}`
    ),
  ]);
}
