/**
 * Recording policy verdicts in `policy_evaluations` on the real Postgres, as
 * the application role.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import type { Sql } from "../src/db/mod.ts";
import { createDirectiveSchema } from "../src/models/mod.ts";
import {
  evaluatePolicy,
  parsePolicy,
  type PolicyDecision,
  PolicyPersistError,
  recordPolicyEvaluation,
} from "../src/policy/mod.ts";
import { createMigratedDatabase, type TestDatabase, withSql } from "./_db.ts";

const POLICY = parsePolicy({
  name: "default",
  version: "2026.11.28-1",
  allowed_types: ["noop", "echo"],
  max_timebox_seconds: 3600,
  budget_ceilings: { noop: "1 USD", echo: "$10.00" },
  auto_approve_types: ["noop"],
  approval_timeout_seconds: 86400,
}, "test:persist");

const schema = createDirectiveSchema({ moduleTypes: ["noop", "echo"] });

function directive(type: string, amount: string) {
  return schema.parse({
    type,
    issued_by: "policy-persist-test",
    objective: "record a verdict",
    budget: { amount, currency: "USD" },
    timebox: 60,
    idempotency_key: `persist-${type}-${amount}`,
  });
}

async function withMigrated(fn: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createMigratedDatabase("keel_policy");
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

async function insertDirective(sql: Sql, key: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO directives (type, issued_by, submitted_by, objective, budget_amount,
      budget_currency, timebox_seconds, idempotency_key)
    VALUES ('noop', 'policy-persist-test', 'policy-persist-test', 'record a verdict', 1, 'USD', 60, ${key})
    RETURNING id`;
  assert(row);
  return row.id;
}

async function evaluationCount(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM policy_evaluations`;
  return row?.n ?? -1;
}

Deno.test("recordPolicyEvaluation stores an ALLOW and a BLOCK verdict as the app role", async () => {
  await withMigrated(async (db) => {
    await withSql(db.appUrl, async (sql) => {
      const [who] = await sql<{ user: string }[]>`SELECT current_user AS user`;
      assertEquals(who?.user, "keel_app");
      const directiveId = await insertDirective(sql, "policy-persist-1");

      const allow = evaluatePolicy(directive("noop", "0.50"), POLICY);
      const block = evaluatePolicy(directive("echo", "12.00"), POLICY);
      assertEquals([allow.verdict, allow.auto_approve], ["ALLOW", true]);
      assertEquals(block.reason, "budget 12.00 USD exceeds the echo ceiling 10.00 USD");

      const allowRow = await recordPolicyEvaluation(sql, allow, { directiveId });
      const blockRow = await recordPolicyEvaluation(sql, block, { directiveId });
      for (const [row, decision] of [[allowRow, allow], [blockRow, block]] as const) {
        assertEquals(
          {
            directive_id: row.directive_id,
            policy_name: row.policy_name,
            policy_version: row.policy_version,
            verdict: row.verdict,
            reason: row.reason,
            auto_approve: row.auto_approve,
          },
          {
            directive_id: directiveId,
            policy_name: decision.policy_name,
            policy_version: decision.policy_version,
            verdict: decision.verdict,
            reason: decision.reason,
            auto_approve: decision.auto_approve,
          },
        );
        assert(row.evaluated_at instanceof Date);
      }

      const stored = await sql<
        { id: string; verdict: string; reason: string; auto_approve: boolean }[]
      >`
        SELECT id, verdict, reason, auto_approve FROM policy_evaluations
        WHERE directive_id = ${directiveId} ORDER BY verdict`;
      assertEquals(stored.map((row) => ({ ...row })), [
        { id: allowRow.id, verdict: "ALLOW", reason: allow.reason, auto_approve: true },
        { id: blockRow.id, verdict: "BLOCK", reason: block.reason, auto_approve: false },
      ]);
    });
  });
});

Deno.test("an invalid verdict is refused by the database's CHECK and writes nothing", async () => {
  await withMigrated(async (db) => {
    await withSql(db.appUrl, async (sql) => {
      const directiveId = await insertDirective(sql, "policy-persist-2");
      const allow = evaluatePolicy(directive("noop", "1"), POLICY);
      const bogus = { ...allow, verdict: "MAYBE" } as unknown as PolicyDecision;
      const error = await assertRejects(
        () => recordPolicyEvaluation(sql, bogus, { directiveId }),
        PolicyPersistError,
      );
      assertEquals(error.name, "PolicyPersistError");
      assertEquals(error.directiveId, directiveId);
      assertStringIncludes(error.message, `Cannot record policy evaluation "MAYBE" for directive`);
      assertEquals((error.cause as { code?: string }).code, "23514"); // check_violation

      // auto-approve on a BLOCK is refused too (CHECK verdict = 'ALLOW' OR NOT auto_approve).
      const blockedAuto = { ...allow, verdict: "BLOCK" } as PolicyDecision;
      const second = await assertRejects(
        () => recordPolicyEvaluation(sql, blockedAuto, { directiveId }),
        PolicyPersistError,
      );
      assertEquals((second.cause as { code?: string }).code, "23514");

      assertEquals(await evaluationCount(sql), 0);
    });
  });
});
