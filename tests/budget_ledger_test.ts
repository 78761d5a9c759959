/**
 * The budget ledger on the real Postgres, as the application role: a call
 * reserves its worst case, is refused before it is made when that would exceed
 * the budget, is charged once per idempotency key, and a charge is final.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  BudgetExceededError,
  BudgetLedgerError,
  charge,
  release,
  type Reservation,
  reserve,
  spendOf,
} from "../src/llm/mod.ts";
import { createMigratedDatabase, withSql } from "./_db.ts";
import { insertDirective, ledgerRows } from "./_llm_fixtures.ts";

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

      await t.step("reserve, charge once, and a charged key returns its answer", async () => {
        const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
        assertEquals(await reserve(sql, reservation(id, "k1", "0.5000")), {
          state: "reserved",
          attempts: 1,
        });
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
        await assertRejects(
          () => charge(sql, "k1", { amount: "0.0123", ...USAGE }),
          BudgetLedgerError,
          "holds no reservation",
        );
        const rows = await ledgerRows(sql, id);
        assertEquals(rows.length, 1);
        assertEquals([rows[0]?.status, rows[0]?.amount, rows[0]?.attempts], [
          "charged",
          "0.0123",
          1,
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
        assertEquals(await spendOf(sql, id), { charged: "0.0000", reserved: "0.0000" });
        assertEquals(await reserve(sql, reservation(id, "k2", "1.0000")), {
          state: "reserved",
          attempts: 2,
        });
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
          assertEquals((await ledgerRows(sql, id)).length, 1, "a refused call leaves no row");
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

      await t.step("a charge is final and rows cannot be deleted", async () => {
        const id = await insertDirective(sql, { amount: "1.00", currency: "USD" });
        await reserve(sql, reservation(id, "f1", "0.1000"));
        await charge(sql, "f1", { amount: "0.0500", ...USAGE });
        const update = await assertRejects(() =>
          sql`UPDATE budget_ledger SET amount = 0 WHERE idempotency_key = 'f1'`
        );
        assert(/permission denied|charged and final/.test((update as Error).message));
        const remove = await assertRejects(() =>
          sql`DELETE FROM budget_ledger WHERE idempotency_key = 'f1'`
        );
        assert(/permission denied/.test((remove as Error).message), (remove as Error).message);
        assertEquals((await ledgerRows(sql, id))[0]?.amount, "0.0500");
      });
    });

    await withSql(db.ownerUrl, async (owner) => {
      await t.step("even the owner cannot rewrite a charge or delete a row", async () => {
        const [row] = await owner<{ key: string }[]>`
          SELECT idempotency_key AS key FROM budget_ledger WHERE status = 'charged' LIMIT 1`;
        assert(row);
        await assertRejects(
          () => owner`UPDATE budget_ledger SET amount = 0 WHERE idempotency_key = ${row.key}`,
          Error,
          "charged and final",
        );
        await assertRejects(
          () => owner`DELETE FROM budget_ledger WHERE idempotency_key = ${row.key}`,
          Error,
          "DELETE is refused",
        );
        await assertRejects(() => owner`TRUNCATE budget_ledger CASCADE`, Error, "TRUNCATE");
      });
    });
  } finally {
    await db.drop();
  }
});
