/**
 * Creation rows (0009): the database writes each directive's first ledger
 * row, with `submitted_by` as its actor, and the migration backfills `seq`,
 * `submitted_by` and the budget trail on an existing ledger.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { migrate, readMigrations, type Sql } from "../src/db/mod.ts";
import { createMigratedDatabase, createTestDatabase, withSql } from "./_db.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { auditLedger, submitDirective } from "../src/directives/mod.ts";
import { auditBudgetTrail } from "../src/budget/mod.ts";

const schema = builtinSchema();

async function count(sql: Sql, table: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${sql(table)}`;
  return row?.n ?? -1;
}

Deno.test("submit records submitted_by as the creation row's actor, written by the database; issued_by stays the document's", async () => {
  const db = await createMigratedDatabase("keel_creation");
  try {
    await withSql(db.appUrl, async (sql) => {
      const { directive } = await submitDirective(sql, echoDocument({ issued_by: "doc-author" }), {
        schema,
        submittedBy: "api:alice",
      });
      assertEquals(directive.submitted_by, "api:alice");
      assertEquals(directive.issued_by, "doc-author");
      const rows = await sql<{ seq: number; from_status: string | null; actor: string }[]>`
        SELECT seq, from_status, actor FROM directive_transitions
         WHERE directive_id = ${directive.id} ORDER BY id`;
      assertEquals(rows.map((r) => [r.seq, r.from_status, r.actor]), [
        [1, null, "api:alice"],
        [2, "draft", "keel"],
      ]);
      const defaulted = await submitDirective(sql, echoDocument({ issued_by: "bob" }), { schema });
      assertEquals(defaulted.directive.submitted_by, "bob");
      await assertRejects(
        () => submitDirective(sql, echoDocument(), { schema, submittedBy: " " }),
        Error,
        "submitted_by",
      );
      assert((await count(sql, "directives")) === 2, "a refused submit left a row");
    });
  } finally {
    await db.drop();
  }
});

Deno.test("migration 0009 backfills seq and submitted_by on an existing ledger, which then audits clean", async () => {
  const db = await createTestDatabase("keel_forgery");
  try {
    const files = await readMigrations("migrations");
    await withSql(db.ownerUrl, async (owner) => {
      await migrate(owner, files.filter((f) => f.version < 9));
      // The rows a 0008 database holds, written as the code before 0009 wrote them.
      const [d] = await owner<{ id: string }[]>`
        INSERT INTO directives (type, issued_by, objective, budget_amount, budget_currency,
          timebox_seconds, idempotency_key)
        VALUES ('echo', 'old-issuer', 'before 0009', 1, 'USD', 60, 'pre-0009') RETURNING id`;
      const id = d!.id;
      await owner`INSERT INTO directive_transitions (directive_id, from_status, to_status, actor, reason)
        VALUES (${id}, NULL, 'draft', 'old-issuer', 'submitted')`;
      for (const [from, to] of [["draft", "proposed"], ["proposed", "approved"]] as const) {
        await owner`UPDATE directives SET status = ${to}, version = version + 1 WHERE id = ${id}`;
        await owner`INSERT INTO directive_transitions
            (directive_id, from_status, to_status, actor, reason)
          VALUES (${id}, ${from}, ${to}, 'keel', 'moved')`;
      }
      await owner`INSERT INTO budget_ledger
          (directive_id, idempotency_key, provider, model, status, amount, currency)
        VALUES (${id}, 'pre-0009-call', 'noop', 'noop', 'charged', 0.25, 'USD')`;
      await migrate(owner, files);
      const events = await owner<{ key: string; status: string }[]>`
        SELECT idempotency_key AS key, status FROM budget_ledger_events`;
      assertEquals(events.map((e) => [e.key, e.status]), [["pre-0009-call", "charged"]]);
      const [row] = await owner<{ submitted_by: string }[]>`
        SELECT submitted_by FROM directives WHERE id = ${id}`;
      assertEquals(row?.submitted_by, "old-issuer");
      const seqs = await owner<{ seq: number }[]>`
        SELECT seq FROM directive_transitions WHERE directive_id = ${id} ORDER BY id`;
      assertEquals(seqs.map((s) => s.seq), [1, 2, 3]);
    });
    await withSql(db.appUrl, async (sql) => {
      assertEquals((await auditLedger(sql)).findings, []);
      // The budget row, kept by 0012 as version 1 of its key, matches its trail.
      assertEquals(await auditBudgetTrail(sql), []);
    });
  } finally {
    await db.drop();
  }
});
