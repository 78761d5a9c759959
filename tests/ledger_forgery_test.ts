/**
 * A ledger the application role cannot forge (migrations 0009 and 0012):
 * every forgery keel_app attempts is refused by Postgres itself, budget rows
 * are append-only for every role, and the owner's tampering (which the
 * database cannot stop once it disables its triggers) is named by the audit.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import type { Sql } from "../src/db/mod.ts";
import { createMigratedDatabase, type TestDatabase, withSql } from "./_db.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import {
  type AuditFinding,
  auditLedger,
  submitDirective,
  transitionDirective,
} from "../src/directives/mod.ts";
import { auditBudgetTrail } from "../src/budget/mod.ts";

const schema = builtinSchema();

interface PgError extends Error {
  code: string;
}

async function withDb(fn: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createMigratedDatabase("keel_forgery");
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

/** Asserts that `query` fails with SQLSTATE `code` and a message containing `text`. */
async function refused(query: () => PromiseLike<unknown>, code: string, text: string) {
  const error = await assertRejects(query) as PgError;
  assertEquals(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
  assertStringIncludes(error.message, text);
}

async function count(sql: Sql, table: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${sql(table)}`;
  return row?.n ?? -1;
}

/** Submits a directive and walks it to `executing`, as the app does. */
async function executing(sql: Sql): Promise<string> {
  const { directive } = await submitDirective(sql, echoDocument(), { schema });
  for (const to of ["approved", "executing"] as const) {
    await transitionDirective(sql, { directiveId: directive.id, to, actor: "keel", reason: to });
  }
  return directive.id;
}

/** One row in each governance table and a charged budget row, written as keel_app. */
async function governanceRows(sql: Sql, directiveId: string): Promise<void> {
  await sql`INSERT INTO approvals (directive_id, decision, actor, reason)
    VALUES (${directiveId}, 'approved', 'carol', 'fine')`;
  await sql`INSERT INTO policy_evaluations
      (directive_id, policy_name, policy_version, verdict, reason, rule)
    VALUES (${directiveId}, 'default', '1', 'ALLOW', 'within limits', 'ok')`;
  await sql`INSERT INTO evaluations (directive_id, evaluator, score)
    VALUES (${directiveId}, 'test', 0.9)`;
  await appendBudget(sql, directiveId, "forgery-1", [1, "reserved", 0.5, 1]);
  await appendBudget(sql, directiveId, "forgery-1", [2, "charged", 0.25, 1]);
}

/** Appends one budget row: `[version, status, amount, attempts]`. */
async function appendBudget(
  sql: Sql,
  directiveId: string,
  key: string,
  [version, status, amount, attempts]: [number, string, number, number],
): Promise<void> {
  await sql`INSERT INTO budget_ledger
      (directive_id, idempotency_key, version, provider, model, status, amount, currency, attempts)
    VALUES (${directiveId}, ${key}, ${version}, 'noop', 'noop', ${status}, ${amount}, 'USD',
      ${attempts})`;
}

Deno.test("as keel_app, every forgery of the ledger, a status or a governance record is refused by Postgres", async () => {
  await withDb(async (db) => {
    await withSql(db.appUrl, async (sql) => {
      const id = await executing(sql);
      const { directive: proposed } = await submitDirective(sql, echoDocument(), { schema });
      await governanceRows(sql, id);
      const ledgerBefore = await count(sql, "directive_transitions");

      // A forged executing -> complete row for a directive that is only proposed.
      await refused(
        () =>
          sql`INSERT INTO directive_transitions (directive_id, from_status, to_status, actor, reason)
            VALUES (${proposed.id}, 'executing', 'complete', 'mallory', 'forged')`,
        "42501",
        "permission denied for table directive_transitions",
      );
      // A legal status change with no ledger row.
      await refused(
        () =>
          sql`UPDATE directives SET status = 'approved', version = version + 1
            WHERE id = ${proposed.id}`,
        "42501",
        "permission denied for table directives",
      );
      // The one column keel_app may update (for row locks) changes nothing alone.
      await refused(
        () => sql`UPDATE directives SET updated_at = now() WHERE id = ${proposed.id}`,
        "23514",
        "version must advance",
      );
      for (const table of ["approvals", "policy_evaluations", "evaluations"]) {
        await refused(
          () => sql`UPDATE ${sql(table)} SET directive_id = directive_id`,
          "42501",
          `permission denied for table ${table}`,
        );
        await refused(
          () => sql`DELETE FROM ${sql(table)}`,
          "42501",
          `permission denied for table ${table}`,
        );
        assertEquals(await count(sql, table), 1, table);
      }
      // Budget rows: no change or removal, and no append that does not follow its key legally.
      const budgetBefore = await count(sql, "budget_ledger");
      for (
        const attempt of [
          () => sql`UPDATE budget_ledger SET amount = 0 WHERE idempotency_key = 'forgery-1'`,
          () => sql`DELETE FROM budget_ledger`,
          () => sql`TRUNCATE budget_ledger`,
        ]
      ) {
        await refused(attempt, "42501", "permission denied for table budget_ledger");
      }
      await refused(
        () => appendBudget(sql, id, "forgery-1", [3, "released", 0, 1]),
        "42501",
        "budget_ledger key forgery-1 is charged and final: no released row may follow it",
      );
      await refused(
        () => appendBudget(sql, id, "forgery-x", [1, "charged", 0, 1]),
        "42501",
        "must start with a reservation at attempt 1, not charged",
      );
      await refused(
        () => appendBudget(sql, crypto.randomUUID(), "forgery-y", [1, "reserved", 0, 1]),
        "23503",
        "budget_ledger key forgery-y: no directive has id",
      );
      await refused(
        () => appendBudget(sql, id, "forgery-1", [9, "reserved", 0, 2]),
        "42501",
        "has no version 8 for version 9 to follow",
      );
      await refused(
        () => appendBudget(sql, proposed.id, "forgery-1", [3, "reserved", 0, 2]),
        "42501",
        "directive, provider and currency are frozen",
      );
      assertEquals(await count(sql, "budget_ledger"), budgetBefore);
      await refused(
        () => sql`UPDATE budget_ledger_events SET amount = 0`,
        "42501",
        "permission denied for table budget_ledger_events",
      );
      await refused(
        () => sql`DELETE FROM budget_ledger_events`,
        "42501",
        "permission denied for table budget_ledger_events",
      );
      // The transition function itself: an illegal move, and a stale version.
      await refused(
        () =>
          sql`SELECT * FROM keel_transition_directive(${proposed.id}::uuid, 'complete', 'mallory', 'skip')`,
        "23514",
        "illegal directive transition proposed -> complete",
      );
      await refused(
        () =>
          sql`SELECT * FROM keel_transition_directive(${proposed.id}::uuid, 'approved', 'mallory', 'x', 99)`,
        "40001",
        "expected 99",
      );
      assertEquals(await count(sql, "directive_transitions"), ledgerBefore);
      const [still] = await sql<{ status: string }[]>`
        SELECT status FROM directives WHERE id = ${proposed.id}`;
      assertEquals(still?.status, "proposed");

      // The legal move through the function writes status and ledger row together.
      const [row] = await sql<{ seq: number; from_status: string; to_status: string }[]>`
        SELECT seq, from_status, to_status
          FROM keel_transition_directive(${proposed.id}::uuid, 'approved', 'carol', 'ok', 2)`;
      assertEquals({ ...row }, { seq: 3, from_status: "proposed", to_status: "approved" });
      assertEquals((await auditLedger(sql)).findings, []);

      // Budget history: every state the row took is kept.
      const events = await sql<{ status: string; amount: string }[]>`
        SELECT status, amount::text AS amount FROM budget_ledger_events ORDER BY id`;
      assertEquals(events.map((e) => [e.status, e.amount]), [
        ["reserved", "0.5000"],
        ["charged", "0.2500"],
      ]);
    });
  });
});

Deno.test("even the owner is refused UPDATE, DELETE and TRUNCATE of governance records and budget rows", async () => {
  await withDb(async (db) => {
    const id = await withSql(db.appUrl, async (sql) => {
      const id = await executing(sql);
      await governanceRows(sql, id);
      return id;
    });
    await withSql(db.ownerUrl, async (owner) => {
      for (
        const table of [
          "approvals",
          "policy_evaluations",
          "evaluations",
          "budget_ledger",
          "budget_ledger_events",
        ]
      ) {
        for (const op of ["UPDATE", "DELETE", "TRUNCATE"]) {
          const attempt = op === "UPDATE"
            ? () => owner`UPDATE ${owner(table)} SET directive_id = ${id}`
            : op === "DELETE"
            ? () => owner`DELETE FROM ${owner(table)}`
            : table === "budget_ledger" // referenced by its trail: without CASCADE, refused first
            ? () => owner`TRUNCATE budget_ledger CASCADE`
            : () => owner`TRUNCATE ${owner(table)}`;
          await refused(attempt, "42501", `${table} is append-only: ${op} is refused`);
        }
      }
      // A released reservation is settled too: only a new reservation (a retried call) may follow.
      await appendBudget(owner, id, "forgery-2", [1, "reserved", 0.1, 1]);
      await appendBudget(owner, id, "forgery-2", [2, "released", 0, 1]);
      await refused(
        () => appendBudget(owner, id, "forgery-2", [3, "charged", 0.1, 1]),
        "42501",
        "is released: only a new reservation may follow",
      );
      await refused(
        () => appendBudget(owner, id, "forgery-2", [3, "reserved", 0.1, 1]),
        "42501",
        "a new reservation must count its attempt",
      );
    });
  });
});

Deno.test("an owner without superuser cannot change a budget row, nor delete one its trail names", async () => {
  await withDb(async (db) => {
    const id = await withSql(db.appUrl, async (sql) => {
      const id = await executing(sql);
      await governanceRows(sql, id);
      return id;
    });
    const role = `keel_owner_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
    await withSql(db.ownerUrl, async (admin) => {
      // All in one transaction, rolled back: the role is the cluster's, not the database's.
      await admin.begin(async (tx) => {
        await tx`CREATE ROLE ${tx(role)} NOSUPERUSER`;
        await tx`ALTER TABLE budget_ledger OWNER TO ${tx(role)}`;
        await tx`SET LOCAL ROLE ${tx(role)}`;
        const [who] = await tx<{ superuser: string }[]>`
          SELECT current_setting('is_superuser') AS superuser`;
        assertEquals(who?.superuser, "off");
        // Each attempt runs in a savepoint, which its failure rolls back.
        const attempt = (
          query: (q: typeof tx) => PromiseLike<unknown>,
          code: string,
          text: string,
        ) => refused(() => tx.savepoint((sp) => query(sp as typeof tx)), code, text);
        await attempt(
          (q) => q`UPDATE budget_ledger SET amount = 0 WHERE directive_id = ${id}`,
          "42501",
          "budget_ledger is append-only: UPDATE is refused",
        );
        await attempt(
          (q) => q`DELETE FROM budget_ledger WHERE directive_id = ${id}`,
          "42501",
          "budget_ledger is append-only: DELETE is refused",
        );
        await attempt(
          (q) => q`TRUNCATE budget_ledger`,
          "0A000",
          "cannot truncate a table referenced in a foreign key constraint",
        );
        // Only a superuser may skip every trigger, foreign keys included.
        await attempt(
          (q) => q`SET LOCAL session_replication_role = replica`,
          "42501",
          "permission denied",
        );
        await attempt(
          (q) => q`ALTER TABLE budget_ledger DISABLE TRIGGER ALL`,
          "42501",
          "is a system trigger",
        );
        // With its own triggers off, a row the trail names still cannot go.
        await attempt(
          async (q) => {
            await q`ALTER TABLE budget_ledger DISABLE TRIGGER USER`;
            await q`DELETE FROM budget_ledger WHERE directive_id = ${id}`;
          },
          "23503",
          "budget_ledger_events",
        );
        const [rows] = await tx<{ n: number }[]>`
          SELECT count(*)::int AS n FROM budget_ledger WHERE directive_id = ${id}`;
        assertEquals(rows?.n, 2);
        throw new RolledBack();
      }).catch((error) => {
        if (!(error instanceof RolledBack)) throw error;
      });
    });
  });
});

/** Thrown to roll a transaction back on purpose. */
class RolledBack extends Error {
  constructor() {
    super("rolled back on purpose");
    this.name = "RolledBack";
  }
}

/** Runs `statements` as the owner with the ledger's and directives' triggers off. */
async function tamper(db: TestDatabase, statements: (tx: Sql) => Promise<void>): Promise<void> {
  await withSql(db.ownerUrl, async (owner) => {
    await owner.begin(async (tx) => {
      await tx`ALTER TABLE directive_transitions DISABLE TRIGGER USER`;
      await tx`ALTER TABLE directives DISABLE TRIGGER USER`;
      await statements(tx as unknown as Sql);
      await tx`ALTER TABLE directives ENABLE TRIGGER USER`;
      await tx`ALTER TABLE directive_transitions ENABLE TRIGGER USER`;
    });
  });
}

function named(findings: readonly AuditFinding[], kind: string, directiveId: string) {
  return findings.filter((f) => f.kind === kind && f.directiveId === directiveId);
}

Deno.test("the audit names a status that differs from the last ledger row, a missing creation row and a seq gap", async () => {
  await withDb(async (db) => {
    const [a, b, c, clean] = await withSql(db.appUrl, async (sql) => [
      await executing(sql),
      await executing(sql),
      await executing(sql),
      await executing(sql),
    ]);
    await tamper(db, async (tx) => {
      await tx`UPDATE directives SET status = 'complete', version = version + 1 WHERE id = ${a}`;
      await tx`DELETE FROM directive_transitions WHERE directive_id = ${b} AND seq = 1`;
      await tx`DELETE FROM directive_transitions WHERE directive_id = ${c} AND seq = 2`;
    });
    await withSql(db.appUrl, async (sql) => {
      const { findings } = await auditLedger(sql);
      const status = named(findings, "status", a);
      assertEquals(status.length, 1, JSON.stringify(findings));
      assertStringIncludes(status[0]!.problem, `directive ${a} is "complete"`);
      assertStringIncludes(status[0]!.problem, `says "executing"`);
      const creation = named(findings, "creation", b);
      assertEquals(creation.length, 1, JSON.stringify(findings));
      assertStringIncludes(creation[0]!.problem, `directive ${b}'s creation row is missing`);
      const gap = named(findings, "seq", c);
      assertEquals(gap.length, 1, JSON.stringify(findings));
      assertStringIncludes(gap[0]!.problem, `directive ${c}'s ledger seq jumps from 1 to 3`);
      assertEquals(findings.filter((f) => f.directiveId === clean), []);
      // One directive audited alone shows only its own problems.
      const alone = await auditLedger(sql, { directiveId: c });
      assertEquals(alone.findings.map((f) => f.kind).sort(), ["chain", "seq"]);
    });
  });
});

Deno.test("a budget row rewritten, forged or deleted behind the triggers' back is named by the audit", async () => {
  await withDb(async (db) => {
    const id = await withSql(db.appUrl, async (sql) => {
      const id = await executing(sql);
      await governanceRows(sql, id);
      // A key reserved, released and reserved again: versions 1, 2, 3.
      await appendBudget(sql, id, "forgery-3", [1, "reserved", 0.1, 1]);
      await appendBudget(sql, id, "forgery-3", [2, "released", 0, 1]);
      await appendBudget(sql, id, "forgery-3", [3, "reserved", 0.1, 2]);
      await appendBudget(sql, id, "forgery-4", [1, "reserved", 0.2, 1]);
      assertEquals(await auditBudgetTrail(sql), []);
      return id;
    });
    await withSql(db.ownerUrl, async (owner) => {
      await owner.begin(async (tx) => {
        await tx`ALTER TABLE budget_ledger DISABLE TRIGGER USER`;
        await tx`ALTER TABLE budget_ledger_events DISABLE TRIGGER USER`;
        // Rewritten: the charge made smaller.
        await tx`UPDATE budget_ledger SET amount = 0 WHERE idempotency_key = 'forgery-1' AND version = 2`;
        // Deleted, with its trail: the release in the middle of a key.
        await tx`DELETE FROM budget_ledger_events
          WHERE budget_ledger_id IN (SELECT b.id FROM budget_ledger b
                                      WHERE b.idempotency_key = 'forgery-3' AND b.version = 2)`;
        await tx`DELETE FROM budget_ledger WHERE idempotency_key = 'forgery-3' AND version = 2`;
        // Forged, appended with no trail: a release of a held reservation, and one after a charge.
        await appendBudget(tx as unknown as Sql, id, "forgery-4", [2, "released", 0, 1]);
        await appendBudget(tx as unknown as Sql, id, "forgery-1", [3, "released", 0, 1]);
        await tx`ALTER TABLE budget_ledger_events ENABLE TRIGGER USER`;
        await tx`ALTER TABLE budget_ledger ENABLE TRIGGER USER`;
      });
    });
    await withSql(db.appUrl, async (sql) => {
      const findings = await auditBudgetTrail(sql);
      assertEquals(
        findings.map((f) => [f.kind, f.directiveId, f.idempotencyKey, f.version]),
        [
          ["trail", id, "forgery-1", 2],
          ["move", id, "forgery-1", 3],
          ["trail", id, "forgery-1", 3],
          ["version", id, "forgery-3", 3],
          ["trail", id, "forgery-4", 2],
        ],
        JSON.stringify(findings),
      );
      assertStringIncludes(
        findings[0]!.problem,
        `budget row "forgery-1" version 2 of directive ${id} is "charged 0.0000 USD 1" but its ` +
          `trail last recorded "charged 0.2500 USD 1": it was rewritten`,
      );
      assertStringIncludes(
        findings[1]!.problem,
        `budget row "forgery-1" version 3 of directive ${id} is illegal: it follows a charge, ` +
          `which is final`,
      );
      assertStringIncludes(
        findings[3]!.problem,
        `budget key "forgery-3" of directive ${id} jumps from version 1 to 3: rows are missing`,
      );
      assertStringIncludes(
        findings[4]!.problem,
        `budget row "forgery-4" version 2 of directive ${id} has no trail in budget_ledger_events`,
      );
    });
  });
});
