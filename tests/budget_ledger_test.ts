/**
 * The budget ledger on the real Postgres, as the application role: a call
 * reserves its worst case, is refused before it is made when that would exceed
 * the budget, is charged once per idempotency key, and a charge is final. The
 * ledger is append-only (0012): every state is a new row, a retried
 * reservation or settlement appends nothing, and no role may change a row.
 */
import { transitionDirective } from "../src/directives/mod.ts";
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  BudgetExceededError,
  BudgetLedgerError,
  charge,
  release,
  type Reservation,
  reserve,
  settleReservation,
  spendOf,
} from "../src/llm/mod.ts";
import { migrate, readMigrations, type Sql } from "../src/db/mod.ts";
import { auditBudgetTrail } from "../src/budget/mod.ts";
import { createMigratedDatabase, createTestDatabase, withSql } from "./_db.ts";
import { insertDirective, ledgerHistory, ledgerRows } from "./_llm_fixtures.ts";

function reservation(directiveId: string, key: string, estimate: string): Reservation {
  return {
    directiveId,
    key,
    provider: "anthropic",
    model: "claude-sonnet-4-5",
    estimate,
    currency: "USD",
  };
}

const USAGE = { inputTokens: 10, outputTokens: 20, response: { text: "hi" } };

Deno.test("budget ledger", async (t) => {
  const db = await createMigratedDatabase();
  try {
    await withSql(db.appUrl, async (sql) => {
      await t.step("a directive that is not executing cannot be charged", async () => {
        const id = await insertDirective(sql, { amount: "1.00", currency: "USD" }, {
          executing: false,
        });
        await assertRejects(
          () => reserve(sql, reservation(id, `${id}:idle`, "0.10")),
          BudgetLedgerError,
          "only an executing directive may spend",
        );
        assertEquals((await ledgerRows(sql, id)).length, 0);
      });

      await t.step(
        "a cost after completion (a memory) is allowed on a complete directive only",
        async () => {
          const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
          await transitionDirective(sql, {
            directiveId: id,
            to: "complete",
            actor: "t",
            reason: "done",
          });
          const memory = { ...reservation(id, `memory/${id}`, "0.10"), afterCompletion: true };
          await assertRejects(
            () => reserve(sql, reservation(id, `${id}:late`, "0.10")),
            BudgetLedgerError,
            "it is complete",
          );
          assertEquals(await reserve(sql, memory), { state: "reserved", attempts: 1 });
          const idle = await insertDirective(sql, { amount: "1.00", currency: "USD" }, {
            executing: false,
          });
          await assertRejects(
            () =>
              reserve(sql, {
                ...reservation(idle, `memory/${idle}`, "0.10"),
                afterCompletion: true,
              }),
            BudgetLedgerError,
            "it is draft",
          );
        },
      );

      await t.step("reserve, charge once, and a charged key returns its answer", async () => {
        const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
        assertEquals(await reserve(sql, reservation(id, "k1", "0.5000")), {
          state: "reserved",
          attempts: 1,
        });
        // A retried reservation of the held key appends nothing.
        assertEquals(await reserve(sql, reservation(id, "k1", "0.5000")), {
          state: "reserved",
          attempts: 1,
        });
        assertEquals(await ledgerHistory(sql, id), [["k1", 1, "reserved", "0.5000"]]);
        assertEquals(await spendOf(sql, id), { charged: "0.0000", reserved: "0.5000" });
        await charge(sql, "k1", { amount: "0.0123", ...USAGE });
        assertEquals(await spendOf(sql, id), { charged: "0.0123", reserved: "0.0000" });
        for (let i = 0; i < 3; i++) {
          assertEquals(await reserve(sql, reservation(id, "k1", "0.5000")), {
            state: "charged",
            amount: "0.0123",
            response: { text: "hi" },
          });
        }
        // A retried charge is refused and appends nothing: the spend is unchanged.
        await assertRejects(
          () => charge(sql, "k1", { amount: "0.0123", ...USAGE }),
          BudgetLedgerError,
          "holds no reservation",
        );
        assertEquals(await spendOf(sql, id), { charged: "0.0123", reserved: "0.0000" });
        assertEquals(await ledgerHistory(sql, id), [
          ["k1", 1, "reserved", "0.5000"],
          ["k1", 2, "charged", "0.0123"],
        ]);
        const rows = await ledgerRows(sql, id);
        assertEquals(rows.length, 1);
        assertEquals([rows[0]?.status, rows[0]?.amount, rows[0]?.attempts, rows[0]?.version], [
          "charged",
          "0.0123",
          1,
          2,
        ]);
      });

      await t.step("a released reservation frees the budget and counts the attempt", async () => {
        const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
        await reserve(sql, reservation(id, "k2", "1.0000"));
        await assertRejects(
          () => reserve(sql, reservation(id, "k3", "0.0001")),
          BudgetExceededError,
        );
        await release(sql, "k2");
        await release(sql, "k2");
        assertEquals(await spendOf(sql, id), { charged: "0.0000", reserved: "0.0000" });
        assertEquals(await reserve(sql, reservation(id, "k2", "1.0000")), {
          state: "reserved",
          attempts: 2,
        });
        assertEquals(await ledgerHistory(sql, id), [
          ["k2", 1, "reserved", "1.0000"],
          ["k2", 2, "released", "0.0000"],
          ["k2", 3, "reserved", "1.0000"],
        ]);
      });

      await t.step("a retried settlement appends one row, even when retries race", async () => {
        const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
        await reserve(sql, reservation(id, "s1", "0.3000"));
        await settleReservation(sql, "s1", "0.2000");
        await settleReservation(sql, "s1", "0.2000");
        await settleReservation(sql, "s1", null);
        assertEquals(await spendOf(sql, id), { charged: "0.2000", reserved: "0.0000" });
        await reserve(sql, reservation(id, "s2", "0.3000"));
        const racing = await Promise.allSettled([
          ...Array.from({ length: 6 }, () => settleReservation(sql, "s2", "0.1000")),
          ...Array.from({ length: 6 }, () => charge(sql, "s2", { amount: "0.1000", ...USAGE })),
        ]);
        const charged = racing.filter((r) => r.status === "fulfilled").length;
        assert(charged >= 6, `every settlement returns; ${charged} of 12 returned`);
        assertEquals(await spendOf(sql, id), { charged: "0.3000", reserved: "0.0000" });
        assertEquals(await ledgerHistory(sql, id), [
          ["s1", 1, "reserved", "0.3000"],
          ["s1", 2, "charged", "0.2000"],
          ["s2", 1, "reserved", "0.3000"],
          ["s2", 2, "charged", "0.1000"],
        ]);
        console.log(
          `settlement retried 3 times and raced 12 ways: 2 keys, ${
            (await ledgerHistory(sql, id)).length
          } budget rows, charged 0.3000 USD`,
        );
      });

      await t.step(
        "the budget is a ceiling: reaching it is allowed, passing it is not",
        async () => {
          const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
          await reserve(sql, reservation(id, "c1", "0.6000"));
          await charge(sql, "c1", { amount: "0.6000", ...USAGE });
          const error = await assertRejects(
            () => reserve(sql, reservation(id, "c2", "0.4001")),
            BudgetExceededError,
          );
          assertEquals(
            error.message,
            `Cannot call a model for directive "${id}": 0.6000 USD is already spent or reserved ` +
              `and the call may cost up to 0.4001 USD, over the budget of 1.0000 USD`,
          );
          assertEquals((await ledgerHistory(sql, id)).length, 2, "a refused call leaves no row");
          await reserve(sql, reservation(id, "c2", "0.4000"));
          await charge(sql, "c2", { amount: "0.4000", ...USAGE });
          await assertRejects(
            () => reserve(sql, reservation(id, "c3", "0.0001")),
            BudgetExceededError,
            "1.0000 USD is already spent",
          );
        },
      );

      await t.step(
        "another currency, an unknown directive and a reused key are refused",
        async () => {
          const eur = await insertDirective(sql, { amount: "5.00", currency: "EUR" });
          await assertRejects(
            () => reserve(sql, reservation(eur, "e1", "0.0010")),
            BudgetLedgerError,
            "its budget is in EUR, and Keel never converts currencies",
          );
          const missing = crypto.randomUUID();
          await assertRejects(
            () => reserve(sql, reservation(missing, "m1", "0.0010")),
            BudgetLedgerError,
            "no such directive",
          );
          const a = await insertDirective(sql, { amount: "5.00", currency: "USD" });
          const b = await insertDirective(sql, { amount: "5.00", currency: "USD" });
          await reserve(sql, reservation(a, "shared", "0.0010"));
          await assertRejects(
            () => reserve(sql, reservation(b, "shared", "0.0010")),
            BudgetLedgerError,
            "it belongs to directive",
          );
        },
      );

      await t.step(
        "a reservation that loses a race with its key's charge returns the charge",
        async () => {
          const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
          await reserve(sql, reservation(id, "r1", "0.3000"));
          await withSql(db.ownerUrl, async (owner) => {
            let pending: Promise<unknown> | undefined;
            await owner.begin(async (tx) => {
              // The charge is appended but not committed when the new reservation reads the key.
              await tx`INSERT INTO budget_ledger (directive_id, idempotency_key, version, provider,
                model, status, amount, currency, attempts)
              VALUES (${id}, 'r1', 2, 'anthropic', 'claude-sonnet-4-5', 'charged', 0.25, 'USD', 1)`;
              pending = reserve(sql, reservation(id, "r1", "0.4000"));
              await waitForLockWait(owner);
            });
            assertEquals(await pending, { state: "charged", amount: "0.2500", response: null });
          });
          assertEquals(await ledgerHistory(sql, id), [
            ["r1", 1, "reserved", "0.3000"],
            ["r1", 2, "charged", "0.2500"],
          ]);
        },
      );

      await t.step("a settlement takes no lock on its directive's row", async () => {
        const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
        await reserve(sql, reservation(id, "l1", "0.3000"));
        await withSql(db.ownerUrl, async (owner) => {
          await owner.begin(async (tx) => {
            // What a transition holds while it moves the directive.
            await tx`SELECT id FROM directives WHERE id = ${id} FOR UPDATE`;
            let timer: ReturnType<typeof setTimeout> | undefined;
            const stuck = new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new Error("the settlement waited for the lock")),
                10_000,
              );
            });
            try {
              await Promise.race([settleReservation(sql, "l1", "0.1000"), stuck]);
            } finally {
              clearTimeout(timer);
            }
          });
        });
        assertEquals(await spendOf(sql, id), { charged: "0.1000", reserved: "0.0000" });
      });

      await t.step("concurrent reservations never overspend one budget", async () => {
        const id = await insertDirective(sql, { amount: "5.00", currency: "USD" });
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => reserve(sql, reservation(id, `p${i}`, "1.0000"))),
        );
        const won = results.filter((r) => r.status === "fulfilled").length;
        const refused = results.filter((r) =>
          r.status === "rejected" && r.reason instanceof BudgetExceededError
        ).length;
        assertEquals([won, refused], [5, 7]);
        assertEquals(await spendOf(sql, id), { charged: "0.0000", reserved: "5.0000" });
      });

      await t.step("as keel_app, no budget row can be changed or deleted", async () => {
        const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
        await reserve(sql, reservation(id, "f1", "0.1000"));
        await charge(sql, "f1", { amount: "0.0500", ...USAGE });
        for (
          const attempt of [
            () => sql`UPDATE budget_ledger SET amount = 0 WHERE idempotency_key = 'f1'`,
            () => sql`DELETE FROM budget_ledger WHERE idempotency_key = 'f1'`,
            () => sql`TRUNCATE budget_ledger`,
          ]
        ) {
          const error = await assertRejects(attempt) as Error;
          assert(/permission denied for table budget_ledger/.test(error.message), error.message);
        }
        assertEquals(await ledgerHistory(sql, id), [
          ["f1", 1, "reserved", "0.1000"],
          ["f1", 2, "charged", "0.0500"],
        ]);
        assertEquals(await auditBudgetTrail(sql), []);
      });
    });

    await withSql(db.ownerUrl, async (owner) => {
      await t.step("the owner's UPDATE, DELETE and TRUNCATE are refused by triggers", async () => {
        const before = await budgetDigest(owner);
        for (
          const [op, attempt] of [
            ["UPDATE", () => owner`UPDATE budget_ledger SET amount = 0`],
            ["DELETE", () => owner`DELETE FROM budget_ledger`],
            ["TRUNCATE", () => owner`TRUNCATE budget_ledger CASCADE`],
          ] as const
        ) {
          await assertRejects(attempt, Error, `budget_ledger is append-only: ${op} is refused`);
        }
        assertEquals(await budgetDigest(owner), before);
      });
    });
  } finally {
    await db.drop();
  }
});

/** Resolves once a session of this database waits for a lock (polls pg_stat_activity). */
async function waitForLockWait(sql: Sql): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if ((row?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("No session waited for a lock within 10 s");
}

/** Row count and a digest of every budget row. */
async function budgetDigest(sql: Sql): Promise<string> {
  const [row] = await sql<{ n: number; digest: string }[]>`
    SELECT count(*)::int AS n, md5(string_agg(b::text, '|' ORDER BY b.id)) AS digest
      FROM budget_ledger b`;
  return `${row?.n}:${row?.digest}`;
}

/** The totals as the code before 0012 summed them: one row per key, moved in place. */
async function totalsBefore0012(sql: Sql, directiveId: string) {
  const [row] = await sql<{ charged: string; reserved: string }[]>`
    SELECT coalesce(sum(amount) FILTER (WHERE status = 'charged'), 0)::numeric(18, 4)::text
             AS charged,
           coalesce(sum(amount) FILTER (WHERE status = 'reserved'), 0)::numeric(18, 4)::text
             AS reserved
      FROM budget_ledger WHERE directive_id = ${directiveId}`;
  return { charged: row?.charged, reserved: row?.reserved };
}

Deno.test("migration 0012 keeps an upgraded ledger's rows, trail and totals, and later states append", async () => {
  const db = await createTestDatabase("keel_budget_up");
  try {
    const files = await readMigrations("migrations");
    const { id, totals, events } = await withSql(db.ownerUrl, async (owner) => {
      await migrate(owner, files.filter((f) => f.version < 12));
      const id = await insertDirective(owner, { amount: "5.00", currency: "USD" });
      // The rows a 0011 database holds, written as the code before 0012 wrote them.
      for (const key of ["charged", "released", "held", "again"]) {
        await owner`INSERT INTO budget_ledger
            (directive_id, idempotency_key, provider, model, amount, currency)
          VALUES (${id}, ${key}, 'anthropic', 'm', 1, 'USD')`;
      }
      await owner`UPDATE budget_ledger SET status = 'charged', amount = 0.75, updated_at = now()
        WHERE idempotency_key = 'charged'`;
      await owner`UPDATE budget_ledger SET status = 'released', amount = 0, updated_at = now()
        WHERE idempotency_key IN ('released', 'again')`;
      await owner`UPDATE budget_ledger SET status = 'reserved', amount = 0.5,
          attempts = attempts + 1, updated_at = now()
        WHERE idempotency_key = 'again'`;
      const totals = await totalsBefore0012(owner, id);
      assertEquals(totals, { charged: "0.7500", reserved: "1.5000" });
      const [events] = await owner<{ n: number }[]>`
        SELECT count(*)::int AS n FROM budget_ledger_events`;
      await migrate(owner, files);
      return { id, totals, events: events?.n };
    });
    await withSql(db.appUrl, async (sql) => {
      assertEquals(await spendOf(sql, id), totals);
      const [after] = await sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM budget_ledger_events`;
      assertEquals(after?.n, events, "the trail is kept as it was");
      assertEquals(events, 8, "4 inserts, 4 updates");
      assertEquals(await ledgerHistory(sql, id), [
        ["charged", 1, "charged", "0.7500"],
        ["released", 1, "released", "0.0000"],
        ["held", 1, "reserved", "1.0000"],
        ["again", 1, "reserved", "0.5000"],
      ]);
      assertEquals(await auditBudgetTrail(sql), []);
      // Later states of the upgraded keys are appended after them.
      await charge(sql, "held", { amount: "0.2500", ...USAGE });
      assertEquals(await reserve(sql, reservation(id, "released", "1.0000")), {
        state: "reserved",
        attempts: 2,
      });
      assertEquals(await reserve(sql, reservation(id, "charged", "1.0000")), {
        state: "charged",
        amount: "0.7500",
        response: null,
      });
      assertEquals(await spendOf(sql, id), { charged: "1.0000", reserved: "1.5000" });
      assertEquals(await auditBudgetTrail(sql), []);
      const error = await assertRejects(() =>
        sql`UPDATE budget_ledger SET amount = 0 WHERE idempotency_key = 'held'`
      ) as Error;
      assert(/permission denied for table budget_ledger/.test(error.message), error.message);
    });
  } finally {
    await db.drop();
  }
});
