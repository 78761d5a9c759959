/**
 * Webhooks against a loopback receiver that verifies Standard Webhooks
 * signatures and counts what it received: each event arrives once per event
 * id; a receiver down for 30 s gets it after it returns; a receiver with the
 * wrong secret refuses it; a failing receiver changes no directive.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { connect } from "../src/db/mod.ts";
import { InputError } from "../src/errors/table.ts";
import { Webhook } from "standardwebhooks";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { decide } from "../src/loop/commands.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { createDirectiveSchema } from "../src/models/mod.ts";
import {
  addSubscription,
  deliveriesOf,
  formatDeliveryLog,
  listSubscriptions,
} from "../src/notifications/mod.ts";
import { createMigratedDatabase } from "./_db.ts";
import { notifierWorkflowId } from "../src/worker.ts";
import { echoDocument } from "./_directives.ts";
import { eventually, ledgerOf, type LoopHarness, startLoopHarness } from "./_loop.ts";
import { spenderModule } from "./fixtures/modules/spender.ts";

/** What the receiver got: every POST, verified or not. */
interface Received {
  readonly id: string;
  readonly verified: boolean;
  readonly body: Record<string, unknown>;
}

/** A receiver on `port` (0: any) that verifies with `secret()`; 401 when verification fails. */
function startReceiver(secret: () => string, port = 0) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (request) => {
    const text = await request.text();
    let verified = false;
    try {
      new Webhook(secret()).verify(text, Object.fromEntries(request.headers));
      verified = true;
    } catch {
      verified = false;
    }
    received.push({
      id: request.headers.get("webhook-id") ?? "",
      verified,
      body: JSON.parse(text),
    });
    return new Response(null, { status: verified ? 204 : 401 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    port: server.addr.port,
    received,
    stop: () => server.shutdown(),
  };
}

const MODULES = [...BUILTIN_MODULES, spenderModule];
const SCHEMA = createDirectiveSchema({ moduleTypes: createRegistry(MODULES).types() });
const OPERATOR = {
  name: "alice",
  scopes: new Set(["approve", "abort"] as const),
  kind: "token" as const,
};

async function harness(): Promise<LoopHarness> {
  const base = JSON.parse(await Deno.readTextFile("policies/default.json"));
  const h = await startLoopHarness({
    modules: MODULES,
    policy: {
      allowed_types: [...base.allowed_types, "spender"],
      budget_ceilings: { ...base.budget_ceilings, spender: "100 USD" },
      auto_approve_types: ["noop", "spender"],
      net_allow: { ...base.net_allow, spender: ["127.0.0.1"] },
    },
  });
  // The worker's own start does this when KEEL_WEBHOOK_INTERVAL_SECONDS is parsed.
  await h.client.workflow.start("notifierWorkflow", {
    workflowId: notifierWorkflowId(h.target.taskQueue),
    taskQueue: h.target.taskQueue,
    args: [{ intervalSeconds: 1, batchSize: 20, passesPerRun: 1000 }],
  });
  return h;
}

async function run(h: LoopHarness, document: Record<string, unknown>, approve = false) {
  const { directive } = await submitAndStart(h.sql, h.target, { document, schema: SCHEMA });
  if (approve) {
    await eventually(async () => {
      const [row] = await h
        .sql`SELECT 1 FROM policy_evaluations WHERE directive_id = ${directive.id}`;
      return row;
    }, "the verdict");
    await decide(h, directive.id, "approve", { principal: OPERATOR, reason: "looks right" });
  }
  return { id: directive.id, status: (await waitForLoop(h.client, directive.id)).status };
}

async function deliveries(h: LoopHarness, directiveId: string) {
  return await h.sql<
    { type: string; status: string; attempts: number; codes: number[] }[]
  >`
    SELECT e.type, d.status, d.attempts,
           array(SELECT coalesce(a.status_code, 0) FROM webhook_attempts a WHERE a.delivery_id = d.id
                  ORDER BY a.attempt) AS codes
      FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
     WHERE e.directive_id = ${directiveId} ORDER BY e.occurred_at, e.type`;
}

Deno.test({
  name:
    "webhooks: every event once per event id, signed; slack bodies; nothing for unsubscribed events",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const h = await harness();
    const secrets = { live: "", chat: "" };
    const live = startReceiver(() => secrets.live);
    const slack = startReceiver(() => secrets.chat);
    try {
      secrets.live = (await addSubscription(h.sql, {
        name: "approvers",
        url: live.url,
        events: ["approval_requested", "directive_ended", "budget_refused", "run_failed"],
      }, "test")).secret;
      secrets.chat = (await addSubscription(h.sql, {
        name: "chat",
        url: slack.url,
        events: ["approval_requested"],
        format: "slack",
      }, "test")).secret;

      const noop = await run(
        h,
        echoDocument({ type: "noop", payload: {}, budget: { amount: "0.50", currency: "USD" } }),
      );
      const echo = await run(h, echoDocument(), true);
      const failing = await run(
        h,
        echoDocument({ type: "fail_intentionally", payload: { mode: "failure" } }),
        true,
      );
      const refused = await run(
        h,
        echoDocument({
          type: "spender",
          budget: { amount: "2.50", currency: "USD" },
          payload: { spend: "2.5001" },
        }),
      );
      assertEquals([noop.status, echo.status, failing.status, refused.status], [
        "complete",
        "complete",
        "complete",
        "aborted",
      ]);
      const [events] = await h.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM webhook_deliveries d
          JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE s.name = 'approvers'`;
      const total = events?.n ?? 0;
      await eventually(
        () => Promise.resolve(total > 0 && new Set(live.received.map((r) => r.id)).size >= total),
        `${total} events at the receiver`,
      );
      // Quiet for 3 s: nothing is sent again.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const ids = live.received.map((r) => r.id);
      assertEquals(ids.length, total, `sent more than once: ${ids.join(", ")}`);
      assertEquals(new Set(ids).size, total);
      assert(live.received.every((r) => r.verified), "every body verifies with the secret");
      const types = (id: string) =>
        live.received.filter((r) => (r.body.data as { directive_id: string }).directive_id === id)
          .map((r) => r.body.type).sort();
      assertEquals(types(noop.id), ["directive_ended"]);
      assertEquals(types(echo.id), ["approval_requested", "directive_ended"]);
      // A FAILURE run fails; the directive still completes (with a low score).
      assertEquals(types(failing.id), ["approval_requested", "directive_ended", "run_failed"]);
      assertEquals(types(refused.id), ["budget_refused", "directive_ended"]);
      // The Slack body: a text, signed with its subscription's secret.
      await eventually(() => Promise.resolve(slack.received.length >= 2), "two slack messages");
      assert(slack.received.every((r) => r.verified));
      assertStringIncludes(String(slack.received[0]?.body.text), "waits for approval");
    } finally {
      await live.stop();
      await slack.stop();
      await h.stop();
    }
  },
});

Deno.test({
  name:
    "webhooks: a receiver down for 30 s gets the event after it returns; a wrong secret is refused; no outcome changes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const h = await harness();
    // Reserve a port, then close it: the receiver is down.
    const probe = startReceiver(() => "unused");
    const port = probe.port;
    await probe.stop();
    try {
      const down = await addSubscription(h.sql, {
        name: "down-30s",
        url: `http://127.0.0.1:${port}/hook`,
        events: ["directive_ended"],
      }, "test");
      const other = "whsec_" + btoa("a different secret, 32 bytes long!");
      const wrong = startReceiver(() => other);
      await addSubscription(h.sql, {
        name: "wrong-secret",
        url: wrong.url,
        events: ["directive_ended"],
      }, "test");
      const started = Date.now();
      const noop = await run(
        h,
        echoDocument({ type: "noop", payload: {}, budget: { amount: "0.50", currency: "USD" } }),
      );
      assertEquals(noop.status, "complete");
      // Failing receivers change nothing: the same ledger as any noop.
      assertEquals(await ledgerOf(h.sql, noop.id), [
        "∅>draft",
        "draft>proposed",
        "proposed>approved",
        "approved>executing",
        "executing>complete",
      ]);
      await eventually(async () => {
        const rows = await deliveries(h, noop.id);
        return rows.every((r) => r.attempts >= 2);
      }, "two failed attempts each");
      const wait = 30_000 - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const back = startReceiver(() => down.secret, port);
      try {
        await eventually(
          () => Promise.resolve(back.received.length > 0),
          "the event after return",
          60_000,
        );
        await new Promise((resolve) => setTimeout(resolve, 2000));
        assertEquals(back.received.length, 1);
        assert(back.received[0]?.verified);
        const [row] = (await deliveries(h, noop.id)).filter((r) => r.status === "delivered");
        assert(row, "the delivery is recorded delivered");
        assertEquals(row.codes.at(-1), 204);
        // 0: no answer (connection refused) while the receiver was down.
        assert(row.codes.slice(0, -1).every((code) => code === 0), String(row.codes));
        assert(row.codes.length >= 5, `attempts: ${row.codes.length}`);
        // The wrong-secret receiver refused every attempt; the delivery stays undelivered.
        assert(wrong.received.length >= 2 && wrong.received.every((r) => !r.verified));
        const refused = (await deliveries(h, noop.id)).find((r) => r.status !== "delivered");
        assert(refused?.codes.every((code) => code === 401));
        // The delivery log, as `keel webhook deliveries` prints it (docs/notifications.md).
        console.log(formatDeliveryLog(await deliveriesOf(h.sql, noop.id)).join("\n"));
        const [directive] = await h.sql`SELECT status FROM directives WHERE id = ${noop.id}`;
        assertEquals(directive?.status, "complete");
      } finally {
        await back.stop();
        await wrong.stop();
      }
    } finally {
      await h.stop();
    }
  },
});

Deno.test("webhook subscriptions: bad input names the field and stores nothing; keel_app cannot forge events", async () => {
  const db = await createMigratedDatabase();
  const sql = connect(db.appUrl, { max: 1 });
  try {
    const refusal = async (input: unknown) => {
      const error = await assertRejects(() => addSubscription(sql, input, "ops"), InputError);
      return error.fields.map((f) => f.path);
    };
    assertEquals(
      await refusal({ name: "bad name!", url: "ftp://x", events: ["approval_requested"] }),
      ["name", "url"],
    );
    assertEquals(await refusal({ name: "a", url: "http://127.0.0.1/h", events: ["lunch"] }), [
      "events.0",
    ]);
    assertEquals(await refusal({ name: "a", url: "http://127.0.0.1/h", events: [] }), ["events"]);
    assertEquals(
      await refusal({
        name: "a",
        url: "http://127.0.0.1/h",
        events: ["run_failed"],
        format: "xml",
      }),
      ["format"],
    );
    const [none] = await sql`SELECT count(*)::int AS n FROM webhook_subscriptions`;
    assertEquals(none?.n, 0);
    const added = await addSubscription(sql, {
      name: "ops",
      url: "http://127.0.0.1:9/h",
      events: ["run_failed", "run_failed"],
    }, "ops");
    assertEquals(added.events, ["run_failed"]);
    assertEquals(
      await refusal({ name: "ops", url: "http://127.0.0.1/h", events: ["run_failed"] }),
      ["name"],
    );
    const listed = await listSubscriptions(sql);
    assert(!("secret" in listed[0]!), "a listed subscription carries no secret");
    // Events and deliveries are written by the database's triggers only.
    for (
      const forge of [
        () =>
          sql`INSERT INTO webhook_events (id, type, directive_id, data)
                VALUES ('evt_run_failed_x', 'run_failed', gen_random_uuid(), '{}')`,
        () =>
          sql`SELECT keel_emit_webhook_event('evt_run_failed_x', 'run_failed', gen_random_uuid())`,
        () => sql`UPDATE webhook_subscriptions SET url = 'http://evil.example/'`,
        () => sql`DELETE FROM webhook_attempts`,
      ]
    ) {
      const error = await assertRejects(() => forge());
      assertEquals((error as { code?: string }).code, "42501", String(error));
    }
  } finally {
    await sql.end();
    await db.drop();
  }
});
