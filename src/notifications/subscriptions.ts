/**
 * Webhook subscriptions: where events go and the secret they are signed
 * with. The secret is generated here, shown once when the subscription is
 * added, and never listed again.
 *
 * @module
 */
import { z } from "zod";
import type { Sql } from "../db/mod.ts";
import { InputError } from "../errors/table.ts";
import { WebhookEventType, WebhookFormat } from "../models/webhook_rows.ts";

/** What adding a subscription takes; checked with field-level errors. */
export const NewSubscription = z.strictObject({
  name: z.string().regex(
    /^[A-Za-z0-9_.:@-]{1,100}$/,
    "must be 1 to 100 letters, digits or _ . : @ -",
  ),
  url: z.string().max(2000).refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && !/\s/.test(value);
    } catch {
      return false;
    }
  }, "must be an http:// or https:// URL"),
  events: z.array(WebhookEventType).min(1, "must name at least one event").transform((e) => [
    ...new Set(e),
  ]),
  format: WebhookFormat.default("standard"),
});

/** A subscription as listed: everything but the secret. */
export interface ListedSubscription {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly events: string[];
  readonly format: string;
  readonly created_by: string;
  readonly created_at: Date;
  readonly disabled_at: Date | null;
}

/** A new Standard Webhooks secret: `whsec_` and base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * Adds a subscription; answers it with its secret (the only time the secret
 * is shown). A name already used answers an {@linkcode InputError} on `name`.
 */
export async function addSubscription(
  sql: Sql,
  input: unknown,
  createdBy: string,
): Promise<ListedSubscription & { secret: string }> {
  const parsed = NewSubscription.safeParse(input);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => ({
      path: issue.path.join(".") || "(input)",
      message: issue.message,
    }));
    throw new InputError(
      `Invalid webhook subscription: ${fields.map((f) => `${f.path}: ${f.message}`).join("; ")}`,
      fields,
    );
  }
  const { name, url, events, format } = parsed.data;
  const secret = generateWebhookSecret();
  const [row] = await sql<(ListedSubscription & { secret: string })[]>`
    INSERT INTO webhook_subscriptions (name, url, secret, events, format, created_by)
    VALUES (${name}, ${url}, ${secret}, ${events}, ${format}, ${createdBy})
    ON CONFLICT (name) DO NOTHING
    RETURNING id, name, url, secret, events, format, created_by, created_at, disabled_at`;
  if (!row) {
    throw new InputError(`a webhook subscription named "${name}" already exists`, [
      { path: "name", message: "is already used" },
    ]);
  }
  return row;
}

/** Every subscription, active first, without secrets. */
export async function listSubscriptions(sql: Sql): Promise<ListedSubscription[]> {
  return [
    ...await sql<ListedSubscription[]>`
      SELECT id, name, url, events, format, created_by, created_at, disabled_at
        FROM webhook_subscriptions ORDER BY disabled_at NULLS FIRST, created_at, name`,
  ];
}

/** Stops new events reaching a subscription (its log is kept); false when none is active by that name. */
export async function disableSubscription(sql: Sql, name: string): Promise<boolean> {
  const rows = await sql`
    UPDATE webhook_subscriptions SET disabled_at = now()
     WHERE name = ${name} AND disabled_at IS NULL RETURNING id`;
  return rows.length > 0;
}
