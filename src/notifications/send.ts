/**
 * Sending one delivery: the body (Standard Webhooks JSON, or a Slack-style
 * `{"text": …}`), its signature headers, and a POST with a deadline that
 * follows no redirect.
 *
 * @module
 */
import { Webhook } from "standardwebhooks";
import type { AttemptResult, DueDelivery } from "./deliveries.ts";

/** What a delivery's body says, for the standard format. */
export function standardBody(delivery: DueDelivery): string {
  return JSON.stringify({
    type: delivery.event_type,
    timestamp: new Date(delivery.occurred_at).toISOString(),
    data: { event_id: delivery.event_id, ...delivery.data },
  });
}

const SUMMARY: Record<string, string> = {
  approval_requested: "waits for approval",
  directive_ended: "has ended",
  budget_refused: "was refused a run by its budget",
  run_failed: "had a run fail",
};

/** A body Slack's incoming webhooks (and compatible chats) display as a message. */
export function slackBody(delivery: DueDelivery): string {
  const d = delivery.data as Record<string, unknown>;
  const budget = d.budget as { amount?: string; currency?: string } | undefined;
  const text = `Keel: ${d.type} directive ${delivery.directive_id} ${
    SUMMARY[delivery.event_type] ?? delivery.event_type
  } (status ${d.status}; budget ${budget?.amount} ${budget?.currency}): ${
    String(d.objective).slice(0, 300)
  }`;
  return JSON.stringify({ text });
}

/** The signed request for a delivery at `now`. */
export function signedRequest(
  delivery: DueDelivery,
  now: Date,
): { headers: Headers; body: string } {
  const body = delivery.format === "slack" ? slackBody(delivery) : standardBody(delivery);
  const signature = new Webhook(delivery.secret).sign(delivery.event_id, now, body);
  const headers = new Headers({
    "content-type": "application/json",
    "user-agent": "keel-webhooks/1",
    "webhook-id": delivery.event_id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": signature,
  });
  return { headers, body };
}

/** An error's message with its causes (fetch's own says only "fetch failed"). */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 4; e = e.cause) {
    parts.push(e.message);
  }
  return parts.join(": ") || String(error);
}

/** POSTs a delivery; never throws: a failure is an attempt result with its reason. */
export async function sendDelivery(
  delivery: DueDelivery,
  options: { timeoutMs: number; fetch?: typeof fetch },
): Promise<AttemptResult> {
  const started = performance.now();
  const { headers, body } = signedRequest(delivery, new Date());
  try {
    const response = await (options.fetch ?? fetch)(delivery.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return {
      statusCode: response.status,
      error: ok ? null : `the receiver answered ${response.status}`,
      latencyMs: performance.now() - started,
    };
  } catch (error) {
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? `no answer within ${options.timeoutMs} ms`
      : error instanceof Deno.errors.NotCapable
      ? `the worker's permission set does not allow ${new URL(delivery.url).host}`
      : describe(error);
    return {
      statusCode: null,
      error: reason.slice(0, 500),
      latencyMs: performance.now() - started,
    };
  }
}
