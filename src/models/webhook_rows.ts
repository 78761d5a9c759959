import { z } from "zod";
import { col, pg } from "./_pg.ts";

/** The events a webhook subscription can ask for. */
export const WEBHOOK_EVENTS = [
  "approval_requested",
  "directive_ended",
  "budget_refused",
  "run_failed",
] as const;

/** One event type. */
export const WebhookEventType = z.enum(WEBHOOK_EVENTS);
/** One event type. */
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** The bodies a subscription can receive. */
export const WebhookFormat = z.enum(["standard", "slack"]);

/** A row of `webhook_subscriptions`: where events go, signed with its secret. */
export const WebhookSubscriptionRow = z.strictObject({
  id: col.uuid(),
  name: pg("text", z.string().regex(/^[A-Za-z0-9_.:@-]{1,100}$/)),
  url: col.text(2000),
  secret: col.text(106),
  events: pg("text[]", z.array(WebhookEventType).min(1)),
  format: pg("text", WebhookFormat),
  created_by: col.text(200),
  created_at: col.timestamp(),
  disabled_at: col.timestamp().nullable(),
});
/** A row of `webhook_subscriptions`. */
export type WebhookSubscriptionRow = z.infer<typeof WebhookSubscriptionRow>;

/** What adding a subscription takes. */
export const NewWebhookSubscriptionRow = WebhookSubscriptionRow.omit({
  id: true,
  created_at: true,
  disabled_at: true,
});

/** A row of `webhook_events`: one fact, written by a trigger beside the row it reports. */
export const WebhookEventRow = z.strictObject({
  id: col.text(200),
  type: pg("text", WebhookEventType),
  directive_id: col.uuid(),
  data: col.json(),
  occurred_at: col.timestamp(),
});
/** A row of `webhook_events`. */
export type WebhookEventRow = z.infer<typeof WebhookEventRow>;

/** Events are written by the database's triggers only. */
export const NewWebhookEventRow = WebhookEventRow.omit({ occurred_at: true });

/** A row of `webhook_deliveries`: one event for one subscription. */
export const WebhookDeliveryRow = z.strictObject({
  id: col.uuid(),
  event_id: col.text(200),
  subscription_id: col.uuid(),
  status: pg("text", z.enum(["pending", "delivered", "failed"])),
  attempts: pg("integer", z.number().int().min(0)),
  next_attempt_at: col.timestamp(),
  delivered_at: col.timestamp().nullable(),
});
/** A row of `webhook_deliveries`. */
export type WebhookDeliveryRow = z.infer<typeof WebhookDeliveryRow>;

/** Deliveries are written by the database's triggers only. */
export const NewWebhookDeliveryRow = WebhookDeliveryRow.pick({
  event_id: true,
  subscription_id: true,
});

/** A row of `webhook_attempts`: one POST, its answer and how long it took. */
export const WebhookAttemptRow = z.strictObject({
  id: col.bigintId(),
  delivery_id: col.uuid(),
  attempt: pg("integer", z.number().int().min(1)),
  status_code: pg("integer", z.number().int().min(100).max(599)).nullable(),
  error: col.text(500).nullable(),
  latency_ms: pg("integer", z.number().int().min(0)),
  attempted_at: col.timestamp(),
});
/** A row of `webhook_attempts`. */
export type WebhookAttemptRow = z.infer<typeof WebhookAttemptRow>;

/** What recording an attempt takes. */
export const NewWebhookAttemptRow = WebhookAttemptRow.omit({ id: true, attempted_at: true });
