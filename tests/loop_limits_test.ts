/**
 * Limits the loop enforces around a module: budget consumed above the
 * directive's ceiling fails the run.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { BUILTIN_MODULES, createRegistry, type ExecutionModule } from "../src/execution/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { createDirectiveSchema } from "../src/models/mod.ts";
import { echoDocument } from "./_directives.ts";
import { runsOf, startLoopHarness } from "./_loop.ts";

/** A test module that reports spending what its payload says. */
const spender: ExecutionModule = {
  type: "spender",
  description: "reports spending payload.spend",
  execute: (input) =>
    Promise.resolve({
      status: "SUCCESS",
      result: null,
      message: `spent ${input.payload.spend}`,
      artifacts: [],
      budgetConsumed: String(input.payload.spend),
    }),
};

Deno.test({
  name: "budget consumed above the ceiling fails the run; within it, the run completes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const modules = [...BUILTIN_MODULES, spender];
    const h = await startLoopHarness({
      modules,
      policy: {
        allowed_types: ["noop", "echo", "fail_intentionally", "spender"],
        budget_ceilings: {
          noop: "1 USD",
          echo: "$10.00",
          fail_intentionally: "10 USD",
          spender: "100 USD",
        },
        auto_approve_types: ["noop", "spender"],
      },
    });
    try {
      const schema = createDirectiveSchema({ moduleTypes: createRegistry(modules).types() });
      const run = async (spend: string) => {
        const { directive } = await submitAndStart(h.sql, h.target, {
          document: echoDocument({
            type: "spender",
            budget: { amount: "2.50", currency: "USD" },
            payload: { spend },
          }),
          schema,
        });
        await waitForLoop(h.client, directive.id);
        return (await runsOf(h.sql, directive.id))[0];
      };
      const over = await run("2.5001");
      assertEquals([over?.status, over?.outcome], ["failed", "FAILURE"]);
      assertStringIncludes(over?.message ?? "", "budget exceeded: spent 2.5001 USD of 2.5000");
      const within = await run("2.50");
      assertEquals([within?.status, within?.outcome], ["completed", "SUCCESS"]);
    } finally {
      await h.stop();
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
