/**
 * Limits the loop enforces around a module: the budget is reserved before the
 * module starts, so a reservation over the budget starts nothing; a module
 * that reports more than it reserved fails its run, and the directive does
 * not end `complete`. Effects are counted by a witness outside the worker.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { createDirectiveSchema } from "../src/models/mod.ts";
import { echoDocument } from "./_directives.ts";
import { runsOf, startLoopHarness } from "./_loop.ts";
import { spenderModule } from "./fixtures/modules/spender.ts";
import { startWitness } from "./_witness.ts";

Deno.test({
  name: "budget: reserved before the module starts, refused over budget, overspending fails",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const modules = [...BUILTIN_MODULES, spenderModule];
    // The default policy plus spender, whatever types the default allows.
    const base = JSON.parse(await Deno.readTextFile("policies/default.json"));
    const witness = startWitness();
    const h = await startLoopHarness({
      modules,
      policy: {
        allowed_types: [...base.allowed_types, "spender"],
        budget_ceilings: { ...base.budget_ceilings, spender: "100 USD" },
        auto_approve_types: ["noop", "spender"],
        net_allow: { ...base.net_allow, spender: ["127.0.0.1"] },
      },
    });
    try {
      const schema = createDirectiveSchema({ moduleTypes: createRegistry(modules).types() });
      const run = async (name: string, payload: Record<string, unknown>) => {
        const { directive } = await submitAndStart(h.sql, h.target, {
          document: echoDocument({
            type: "spender",
            budget: { amount: "2.50", currency: "USD" },
            payload: { ...payload, witness: `${witness.url}/${name}` },
          }),
          schema,
        });
        const loop = await waitForLoop(h.client, directive.id);
        // Every budget row the directive appended: its one key's states, in order.
        const rows = await h.sql<{ status: string; amount: string }[]>`
          SELECT status, amount::text AS amount FROM budget_ledger
           WHERE directive_id = ${directive.id} ORDER BY version`;
        const ledger = rows.map((r) => [r.status, r.amount]);
        return { loop, runs: await runsOf(h.sql, directive.id), ledger };
      };

      const refused = await run("refused", { spend: "2.5001" });
      assertEquals(witness.seen("/refused").length, 0, "a refused run must start nothing");
      assertEquals(refused.loop.status, "aborted");
      assertEquals(refused.runs.map((r) => [r.attempt, r.status, r.outcome]), [
        [1, "failed", "ERROR"],
      ]);
      assertStringIncludes(refused.runs[0]?.message ?? "", "nothing started");
      assertStringIncludes(
        refused.runs[0]?.message ?? "",
        "0.0000 USD is already spent or reserved and the call may cost up to 2.5001 USD, " +
          "over the budget of 2.5000 USD",
      );
      assertEquals(refused.ledger, [], "nothing was reserved");

      const over = await run("over", { reserve: "1", spend: "2" });
      assertEquals(witness.seen("/over").length, 1);
      assertEquals(over.loop.status, "aborted", "a failed budget check never ends complete");
      assertEquals(over.runs.map((r) => [r.status, r.outcome]), [["failed", "ERROR"]]);
      assertStringIncludes(over.runs[0]?.message ?? "", "over its reservation of 1 USD");
      assertEquals(over.ledger, [["reserved", "1.0000"], ["charged", "2.0000"]]);

      const within = await run("within", { reserve: "2.5", spend: "1.25" });
      assertEquals(witness.seen("/within").length, 1);
      assertEquals(within.loop.status, "complete");
      assertEquals(within.runs.map((r) => [r.status, r.outcome]), [["completed", "SUCCESS"]]);
      assertEquals(within.ledger, [["reserved", "2.5000"], ["charged", "1.2500"]]);
    } finally {
      await h.stop();
      await witness.stop();
    }
  },
});

Deno.test({
  name: "a throwing evaluator does not change the directive's outcome",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let calls = 0;
    const h = await startLoopHarness({
      evaluator: {
        name: "broken@1",
        evaluate: () => {
          calls++;
          return Promise.reject(new Error("evaluator exploded"));
        },
      },
    });
    try {
      const { directive } = await submitAndStart(h.sql, h.target, {
        document: echoDocument({ type: "noop", budget: { amount: "0.5", currency: "USD" } }),
        schema: createDirectiveSchema({ moduleTypes: createRegistry(BUILTIN_MODULES).types() }),
      });
      assertEquals((await waitForLoop(h.client, directive.id)).status, "complete");
      assertEquals(calls, 1, "a failed evaluation is abandoned, not retried");
      const [row] = await h.sql`
        SELECT count(*)::int AS n FROM evaluations WHERE directive_id = ${directive.id}`;
      assertEquals(row?.n, 0);
    } finally {
      await h.stop();
    }
  },
});
