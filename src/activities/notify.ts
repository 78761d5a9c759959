import { heartbeat } from "@temporalio/activity";
import type { Sql } from "../db/mod.ts";
import { leaseDue, recordAttempt, type RetryPolicy, sendDelivery } from "../notifications/mod.ts";
import type { Logger } from "../telemetry/log.ts";

/** What the notifier's activity needs. */
export interface NotifyDeps {
  /** The application's database client. */
  readonly sql: Sql;
  /** The structured logger. */
  readonly log: Logger;
  /** How deliveries are retried, and how long a receiver may take. */
  readonly webhooks?: RetryPolicy & { readonly timeoutMs: number };
}

/** What one pass did. */
export interface NotifyReport {
  readonly sent: number;
  readonly delivered: number;
  readonly failed: number;
}

const DEFAULTS = { maxAttempts: 15, maxBackoffSeconds: 300, timeoutMs: 10_000 };

/** Builds the notifier's activity. */
export function createNotifyActivities(deps: NotifyDeps) {
  const policy = deps.webhooks ?? DEFAULTS;
  return {
    /**
     * Sends the due deliveries (up to `limit`, in parallel) and records each
     * attempt. A delivery leased by a crashed pass is sent again once its
     * lease ends, under the same `webhook-id`.
     */
    async deliverWebhooks(limit: number): Promise<NotifyReport> {
      const due = await leaseDue(deps.sql, limit, Math.ceil(policy.timeoutMs / 1000) + 30);
      let delivered = 0;
      let failed = 0;
      await Promise.all(due.map(async (delivery) => {
        const result = await sendDelivery(delivery, { timeoutMs: policy.timeoutMs });
        heartbeat();
        const status = await recordAttempt(deps.sql, delivery, result, policy);
        if (status === "delivered") delivered++;
        if (status === "failed") failed++;
        if (result.error !== null) {
          deps.log.warn("webhook attempt failed", {
            event_id: delivery.event_id,
            subscription: delivery.subscription,
            attempt: delivery.attempts + 1,
            status_code: result.statusCode,
            error: result.error,
            next: status,
          });
        }
      }));
      return { sent: due.length, delivered, failed };
    },
  };
}

/** The notifier's activities, for `proxyActivities`. */
export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
