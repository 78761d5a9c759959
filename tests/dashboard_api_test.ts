/**
 * The dashboard's reads against real Postgres with known data
 * (tests/_dashboard_seed.ts): the overview's aggregates (exact counts, sums
 * and nearest-rank percentiles), the inbox, the directive page's answer, the
 * payload download, and bad queries answered 400 naming the field.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { policyContentHash } from "../src/policy/mod.ts";
import { runPolicyStep } from "../src/policy/mod.ts";
import { submitDirective } from "../src/directives/mod.ts";
import { get, problemOf, testToken, withApi } from "./_api.ts";
import { seedOverview } from "./_dashboard_seed.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { testPolicy } from "./_loop.ts";

const READER = await testToken("reader", ["read"]);
const registry = createRegistry(BUILTIN_MODULES);
const policy = await testPolicy();
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

Deno.test({
  name: "dashboard API: aggregates, inbox and the directive page over known data",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await withApi(
      { tokens: [READER.entry], policy, moduleOf: (type) => registry.find(type) },
      async (base, h) => {
        const ids = await seedOverview(h.sql, policy);
        const read = async (path: string) => {
          const response = await get(`${base}${path}`, READER.token);
          const body = await response.json();
          assertEquals(response.status, 200, JSON.stringify(body));
          return body;
        };

        await t.step("directives entering each status, summed over the window", async () => {
          const body = await read("/api/stats/status-per-day?days=2");
          assertEquals(body.days.length, 2);
          const totals = Object.fromEntries(
            body.series.map((s: { status: string; counts: number[] }) => [s.status, sum(s.counts)]),
          );
          assertEquals(totals, {
            draft: 10,
            proposed: 10,
            approved: 4,
            executing: 3,
            complete: 2,
            blocked: 3,
            aborted: 2,
          });
          const week = await read("/api/stats/status-per-day");
          assertEquals(week.days.length, 14);
          assertEquals(sum(week.series[0].counts), 10);
        });

        await t.step("approval waits count people's decisions only", async () => {
          const body = await read("/api/stats/approval-waits?days=2");
          assertEquals(body.overall.n, 4); // done1, done2, failed approved; rejected; not auto
          assertEquals(sum(body.per_day.map((p: { n: number }) => p.n)), 4);
          assert(body.overall.p50_ms >= 0 && body.overall.p50_ms <= body.overall.p95_ms);
          assertEquals(body.waiting_now.n, 2);
        });

        await t.step("run durations per module: nearest-rank percentiles", async () => {
          const body = await read("/api/stats/run-durations?days=2");
          assertEquals(body.modules, [
            { module: "echo", n: 3, p50_ms: 200, p95_ms: 300, max_ms: 300 },
          ]);
        });

        await t.step("spend per type per day: charges only, exact decimals", async () => {
          const body = await read("/api/stats/spend?days=2");
          assertEquals(body.series.length, 1);
          const [echo] = body.series;
          assertEquals([echo.type, echo.currency, echo.total], ["echo", "USD", "0.4000"]);
          assertEquals(sum(echo.amounts.map(Number)), 0.4);
        });

        await t.step("BLOCK reasons, most frequent first", async () => {
          const body = await read("/api/stats/block-reasons?days=2&limit=5");
          assertEquals(
            body.reasons.map((r: { rule: string; count: number }) => [r.rule, r.count]),
            [["scope_deny", 2], ["budget_ceiling", 1]],
          );
          assertStringIncludes(body.reasons[1].reason, "is in EUR");
          const one = await read("/api/stats/block-reasons?limit=1");
          assertEquals(one.reasons.length, 1);
        });

        await t.step("bad queries answer 400 naming the field", async () => {
          for (
            const [path, field] of [
              ["/api/stats/spend?days=abc", "days"],
              ["/api/stats/spend?days=100000", "days"],
              ["/api/stats/status-per-day?days=0", "days"],
              ["/api/stats/approval-waits?days=1.5", "days"],
              ["/api/stats/block-reasons?limit=51", "limit"],
              ["/api/stats/run-durations?limit=5", "limit"],
              ["/api/inbox?limit=201", "limit"],
            ] as const
          ) {
            const body = await problemOf(await get(`${base}${path}`, READER.token), 400);
            const errors = body.errors as { path: string }[];
            assertEquals(errors.map((e) => e.path), [field], path);
            assertStringIncludes(String(body.detail), field);
          }
          const missing = await problemOf(await get(`${base}/api/stats/nope`, READER.token), 404);
          assertStringIncludes(String(missing.detail), "block-reasons");
          await problemOf(await get(`${base}/api/stats/spend`), 401);
          await problemOf(await get(`${base}/api/inbox`), 401);
        });

        await t.step("the inbox: oldest first, budget, wait and deadline", async () => {
          const body = await read("/api/inbox");
          assertEquals(body.total, 2);
          assertEquals(body.items.map((i: { id: string }) => i.id), [ids.waiting1, ids.waiting2]);
          const [first] = body.items;
          assertEquals([first.budget_amount, first.budget_currency], ["2.5000", "USD"]);
          assertEquals([first.approvals, first.approvals_required], [0, 1]);
          assertEquals(
            Date.parse(first.deadline) - Date.parse(first.verdict_at),
            policy.approval_timeout_seconds * 1000,
          );
          assert(first.waiting_ms >= 0);
          assertEquals((await read("/api/inbox?limit=1")).items.length, 1);
        });

        await t.step("the directive page of a completed directive", async () => {
          const body = await read(`/api/directives/${ids.done1}`);
          assertEquals(body.budget, {
            amount: "5.0000",
            currency: "USD",
            reserved: "0.0000",
            spent: "0.1500",
          });
          assertEquals(body.module.type, "echo");
          assertEquals(body.module.declared, {});
          assertEquals(body.module.granted, {});
          assertEquals(body.verdict.verdict, "ALLOW");
          assertEquals(body.verdict.policy_sha256, policyContentHash(policy));
          assertEquals(
            body.verdict.rules.map((r: { rule: string; result: string }) => [r.rule, r.result]),
            [
              ["allowed_types", "pass"],
              ["budget_ceiling", "pass"],
              ["max_timebox", "pass"],
              ["required_fields", "pass"],
              ["scope_deny", "pass"],
              ["net_allow", "pass"],
            ],
          );
          assertEquals(body.approval.approved_by, ["alice"]);
          assertEquals([body.approval.required, body.approval.seconds_left], [1, null]);
          assertEquals(
            body.timeline.map((p: { status: string }) => p.status),
            ["draft", "proposed", "approved", "executing", "complete"],
          );
          assertEquals(body.timeline.at(-1).duration_ms, null);
          assert(
            body.timeline.slice(0, -1).every((p: { duration_ms: number }) => p.duration_ms >= 0),
          );
          assertEquals(body.payload_bytes, JSON.stringify({ message: "hello" }).length);
        });

        await t.step("a waiting directive: its deadline and the time left", async () => {
          const body = await read(`/api/directives/${ids.waiting1}`);
          const left = body.approval.seconds_left;
          assert(left >= 0 && left <= policy.approval_timeout_seconds, String(left));
          assertEquals(body.timeline.at(-1).ongoing, true);
          const blocked = await read(`/api/directives/${ids.blockedEur}`);
          assertEquals(blocked.verdict.verdict, "BLOCK");
          const budget = blocked.verdict.rules.find((r: { rule: string }) =>
            r.rule === "budget_ceiling"
          );
          assertEquals([budget.result, budget.detail], ["fail", blocked.verdict.reason]);
        });

        await t.step("a verdict of another policy: only its rule, and why", async () => {
          const other = await testPolicy({ version: "other-1" });
          const { directive } = await submitDirective(h.sql, echoDocument(), {
            schema: builtinSchema(),
            submittedBy: "agent-seed",
          });
          await runPolicyStep(h.sql, directive.id, {
            policy: other,
            moduleOf: (type) => registry.find(type),
          });
          const body = await read(`/api/directives/${directive.id}`);
          assertEquals(body.verdict.rules, null);
          assertStringIncludes(body.verdict.rules_note, "not the active policy");
        });

        await t.step("the payload downloads whole, as indented JSON", async () => {
          const response = await get(
            `${base}/api/directives/${ids.waiting1}/payload`,
            READER.token,
          );
          assertEquals(response.status, 200);
          assertStringIncludes(response.headers.get("content-disposition") ?? "", "attachment");
          const text = await response.text();
          assertEquals(JSON.parse(text), { message: "report waiting1", lines: ["alpha", "beta"] });
          assertStringIncludes(text, '\n  "message"');
        });
      },
      { noWorker: true },
    );
  },
});
