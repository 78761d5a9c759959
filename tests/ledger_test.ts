/**
 * The append-only ledger and immutable artifacts, enforced by Postgres itself:
 * the application role lacks the privileges, and the owner is stopped by
 * triggers (including the TRUNCATE trigger a row trigger would miss).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import type { Sql } from "../src/db/mod.ts";
import { createMigratedDatabase, type TestDatabase, withSql } from "./_db.ts";

interface PgError extends Error {
  code: string;
}

async function withMigrated(fn: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createMigratedDatabase("keel_ledger");
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

/** Asserts that `query` fails with Postgres SQLSTATE `code`; returns the error. */
async function assertPgError(query: () => PromiseLike<unknown>, code: string): Promise<PgError> {
  const error = await assertRejects(query) as PgError;
  assertEquals(error.code, code, `expected SQLSTATE ${code}, got ${error.code}: ${error.message}`);
  return error;
}

async function insertDirective(sql: Sql, key: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO directives (type, issued_by, submitted_by, objective, budget_amount,
      budget_currency, timebox_seconds, idempotency_key)
    VALUES ('noop', 'ledger-test', 'ledger-test', 'prove the ledger is append-only', 1, 'USD', 60, ${key})
    RETURNING id`;
  assert(row);
  return row.id;
}

async function insertTransition(sql: Sql, directiveId: string): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO directive_transitions (directive_id, from_status, to_status, actor, reason)
    VALUES (${directiveId}, 'draft', 'proposed', 'ledger-test', 'submitted')
    RETURNING id`;
  assert(row);
  return row.id;
}

async function transitionCount(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM directive_transitions`;
  return row?.n ?? -1;
}

Deno.test("the app role may SELECT ledger rows but not INSERT them: the database writes the creation row", async () => {
  await withMigrated(async (db) => {
    await withSql(db.appUrl, async (sql) => {
      const [who] = await sql<{ user: string }[]>`SELECT current_user AS user`;
      assertEquals(who?.user, "keel_app");
      const directiveId = await insertDirective(sql, "ledger-app-insert");
      const error = await assertPgError(() => insertTransition(sql, directiveId), "42501");
      assertStringIncludes(error.message, "permission denied for table directive_transitions");
      const rows = await sql<{ to_status: string; actor: string; seq: number }[]>`
        SELECT to_status, actor, seq FROM directive_transitions WHERE directive_id = ${directiveId}`;
      assertEquals(rows.map((r) => ({ ...r })), [{
        to_status: "draft",
        actor: "ledger-test",
        seq: 1,
      }]);
    });
  });
});

Deno.test("the app role is denied UPDATE, DELETE and TRUNCATE of the ledger (42501)", async () => {
  await withMigrated(async (db) => {
    await withSql(db.appUrl, async (sql) => {
      await insertDirective(sql, "ledger-app-denied");
      const attempts: [string, () => PromiseLike<unknown>][] = [
        ["UPDATE", () => sql`UPDATE directive_transitions SET reason = 'rewritten'`],
        ["DELETE", () => sql`DELETE FROM directive_transitions`],
        ["TRUNCATE", () => sql`TRUNCATE directive_transitions`],
      ];
      for (const [op, attempt] of attempts) {
        const error = await assertPgError(attempt, "42501");
        // The trigger raises the same SQLSTATE; this must be the missing grant.
        assertStringIncludes(
          error.message,
          "permission denied for table directive_transitions",
          `${op}: ${error.message}`,
        );
        assertEquals(await transitionCount(sql), 1, `${op} changed the ledger`);
      }
      const [row] = await sql<{ reason: string }[]>`SELECT reason FROM directive_transitions`;
      assertEquals(row?.reason, "submitted");
    });
  });
});

Deno.test("even the owner is refused UPDATE, DELETE and TRUNCATE of the ledger by its triggers", async () => {
  await withMigrated(async (db) => {
    await withSql(db.ownerUrl, async (sql) => {
      const [who] = await sql<{ superuser: string }[]>`
        SELECT current_setting('is_superuser') AS superuser`;
      assertEquals(who?.superuser, "on");
      const directiveId = await insertDirective(sql, "ledger-owner");
      await insertTransition(sql, directiveId);
      await insertTransition(sql, directiveId);
      const before = await transitionCount(sql);
      assertEquals(before, 3, "the creation row and two more");

      const attempts: [string, () => PromiseLike<unknown>][] = [
        ["UPDATE", () => sql`UPDATE directive_transitions SET reason = 'rewritten'`],
        ["DELETE", () => sql`DELETE FROM directive_transitions`],
        ["TRUNCATE", () => sql`TRUNCATE directive_transitions`],
      ];
      for (const [op, attempt] of attempts) {
        const error = await assertRejects(attempt) as PgError;
        assertStringIncludes(error.message, "append-only", `${op}: ${error.message}`);
        assertStringIncludes(error.message, op);
        assertEquals(await transitionCount(sql), before, `${op} changed the row count`);
      }
      const reasons = await sql<{ reason: string }[]>`SELECT reason FROM directive_transitions`;
      assertEquals(reasons.map((r) => r.reason), ["submitted", "submitted", "submitted"]);
    });
  });
});

Deno.test("the app role owns no table; the owner owns them all", async () => {
  await withMigrated(async (db) => {
    await withSql(db.ownerUrl, async (sql) => {
      const tables = await sql<{ tablename: string; tableowner: string }[]>`
        SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'
        ORDER BY tablename`;
      assert(tables.length >= 9, `expected the migrated tables, found ${tables.length}`);
      assertEquals(tables.filter((t) => t.tableowner === "keel_app"), []);
      const [me] = await sql<{ user: string }[]>`SELECT current_user AS user`;
      assertEquals(
        tables.filter((t) => t.tableowner !== me?.user),
        [],
        "every table belongs to the migration owner",
      );
    });
  });
});

Deno.test("artifacts refuse UPDATE: denied to the app role, stopped by the trigger for the owner", async () => {
  await withMigrated(async (db) => {
    let artifactId = "";
    await withSql(db.appUrl, async (sql) => {
      const directiveId = await insertDirective(sql, "ledger-artifact");
      const [row] = await sql<{ id: string }[]>`
        INSERT INTO artifacts (directive_id, kind, sha256, size_bytes, content_type, inline_content)
        VALUES (${directiveId}, 'log', ${"0".repeat(64)}, 2, 'text/plain', ${new Uint8Array([
        104,
        105,
      ])})
        RETURNING id`;
      assert(row);
      artifactId = row.id;
      const error = await assertPgError(
        () => sql`UPDATE artifacts SET content_type = 'text/html' WHERE id = ${artifactId}`,
        "42501",
      );
      assertStringIncludes(error.message, "permission denied for table artifacts");
    });
    await withSql(db.ownerUrl, async (sql) => {
      const error = await assertRejects(
        () => sql`UPDATE artifacts SET content_type = 'text/html' WHERE id = ${artifactId}`,
      );
      assertStringIncludes(error.message, "immutable");
      const [row] = await sql<{ content_type: string }[]>`
        SELECT content_type FROM artifacts WHERE id = ${artifactId}`;
      assertEquals(row?.content_type, "text/plain");
    });
  });
});

Deno.test("an unknown directive status is refused, and the status CHECK alone refuses it (23514)", async () => {
  await withMigrated(async (db) => {
    const insertBadStatus = (sql: Sql, key: string) =>
      sql`
        INSERT INTO directives (type, issued_by, submitted_by, objective, budget_amount,
          budget_currency, timebox_seconds, idempotency_key, status)
        VALUES ('noop', 'ledger-test', 'ledger-test', 'bad status', 1, 'USD', 60, ${key}, 'finished')`;

    // As the application role, whichever layer answers first, the row is refused.
    await withSql(db.appUrl, async (sql) => {
      await assertPgError(() => insertBadStatus(sql, "ledger-bad-status"), "23514");
      const id = await insertDirective(sql, "ledger-good-status");
      // keel_app may not write status at all (0009): refused before any check.
      await assertPgError(
        () => sql`UPDATE directives SET status = 'finished', version = 2 WHERE id = ${id}`,
        "42501",
      );
      const rows = await sql<{ status: string }[]>`SELECT status FROM directives`;
      assertEquals(rows.map((r) => r.status), ["draft"]);
    });

    // With every user trigger switched off (inside a rolled-back transaction),
    // the CHECK constraint still refuses the status on its own.
    await withSql(db.ownerUrl, async (sql) => {
      const rolledBack = new Error("roll back");
      const outcome = await sql.begin(async (tx) => {
        await tx`ALTER TABLE directives DISABLE TRIGGER USER`;
        const error = await assertPgError(
          () => tx.savepoint((sp) => insertBadStatus(sp as unknown as Sql, "ledger-check-only")),
          "23514",
        ) as PgError & { constraint_name?: string };
        assertEquals(error.constraint_name, "directives_status_check");
        throw rolledBack;
      }).catch((error: unknown) => error);
      assert(outcome === rolledBack, `unexpected outcome: ${String(outcome)}`);
      const disabled = await sql<{ tgname: string }[]>`
        SELECT tgname FROM pg_trigger
        WHERE tgrelid = 'directives'::regclass AND NOT tgisinternal AND tgenabled = 'D'`;
      assertEquals(disabled.map((t) => t.tgname), [], "the rollback re-enabled the triggers");
    });
  });
});
