/**
 * The ledger is tamper-evident: the audit recomputes each directive's hash
 * chain and names the first row that no longer verifies.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { createMigratedDatabase, withSql } from "./_db.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import {
  auditLedger,
  GENESIS_HASH,
  ledgerContent,
  sha256Hex,
  submitDirective,
  transitionDirective,
} from "../src/directives/mod.ts";
import { TransitionRow } from "../src/models/mod.ts";

const schema = builtinSchema();

async function runAudit(databaseUrl: string): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=audit", "src/cli/audit.ts"],
    // An anchor directory of its own: none there, so only the database is checked.
    env: {
      DATABASE_URL: databaseUrl,
      KEEL_ARTIFACT_DIR: `.data/artifacts/test-audit-${crypto.randomUUID()}`,
    },
    clearEnv: true,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, out: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

Deno.test("the code computes the same hashes as the database's trigger", async () => {
  const db = await createMigratedDatabase();
  try {
    await withSql(db.appUrl, async (sql) => {
      const { directive } = await submitDirective(
        sql,
        echoDocument({ issued_by: "zoë ✓ 'quoted' ; -- " }),
        { schema },
      );
      const rows = (await sql`
        SELECT * FROM directive_transitions WHERE directive_id = ${directive.id} ORDER BY id`)
        .map((row) => TransitionRow.parse(row));
      assertEquals(rows.length, 2);
      assertEquals(rows[0]?.prev_hash, GENESIS_HASH);
      assertEquals(rows[1]?.prev_hash, rows[0]?.hash);
      for (const row of rows) {
        assertEquals(await sha256Hex(ledgerContent(row, row.prev_hash)), row.hash);
      }
    });
  } finally {
    await db.drop();
  }
});

Deno.test("altering a ledger row behind the trigger's back makes the audit fail at that row", async () => {
  const db = await createMigratedDatabase();
  try {
    const ids = await withSql(db.appUrl, async (sql) => {
      const first = await submitDirective(sql, echoDocument(), { schema });
      const second = await submitDirective(sql, echoDocument(), { schema });
      await transitionDirective(sql, {
        directiveId: second.directive.id,
        to: "approved",
        actor: "carol",
        reason: "looks safe",
      });
      await transitionDirective(sql, {
        directiveId: second.directive.id,
        to: "executing",
        actor: "keel",
        reason: "started",
      });
      const intact = await auditLedger(sql);
      assertEquals(intact, { rows: 6, directives: 2, findings: [] });
      const [target] = await sql<{ id: string }[]>`
        SELECT id FROM directive_transitions
         WHERE directive_id = ${second.directive.id} AND to_status = 'approved'`;
      return { first: first.directive.id, second: second.directive.id, row: target!.id };
    });
    const clean = await runAudit(db.appUrl);
    assertEquals(clean.code, 0, clean.out);
    assertStringIncludes(clean.out, "6 ledger rows over 2 directives: every chain is intact");

    // As superuser, with the append-only triggers disabled: rewrite who approved.
    await withSql(db.ownerUrl, async (sql) => {
      await sql.begin(async (tx) => {
        await tx`ALTER TABLE directive_transitions DISABLE TRIGGER USER`;
        await tx`UPDATE directive_transitions SET actor = 'mallory' WHERE id = ${ids.row}`;
        await tx`ALTER TABLE directive_transitions ENABLE TRIGGER USER`;
      });
    });
    await withSql(db.appUrl, async (sql) => {
      const report = await auditLedger(sql);
      assertEquals(report.broken?.rowId, ids.row);
      assertEquals(report.broken?.directiveId, ids.second);
      assertStringIncludes(report.broken?.problem ?? "", "content does not match its hash");
      // The untouched directive still verifies on its own.
      assertEquals((await auditLedger(sql, { directiveId: ids.first })).broken, undefined);
    });
    const tampered = await runAudit(db.appUrl);
    assertEquals(tampered.code, 1, tampered.out);
    assertStringIncludes(
      tampered.out,
      `broken link at directive_transitions row ${ids.row} (directive ${ids.second})`,
    );
  } finally {
    await db.drop();
  }
});

Deno.test("removing a ledger row breaks the link of the row after it", async () => {
  const db = await createMigratedDatabase();
  try {
    await withSql(db.appUrl, async (sql) => {
      const { directive } = await submitDirective(sql, echoDocument(), { schema });
      await transitionDirective(sql, {
        directiveId: directive.id,
        to: "aborted",
        actor: "dave",
        reason: "no longer needed",
      });
      const rows = await sql<{ id: string }[]>`
        SELECT id FROM directive_transitions WHERE directive_id = ${directive.id} ORDER BY id`;
      await withSql(db.ownerUrl, async (owner) => {
        await owner.begin(async (tx) => {
          await tx`ALTER TABLE directive_transitions DISABLE TRIGGER USER`;
          await tx`DELETE FROM directive_transitions WHERE id = ${rows[1]!.id}`;
          await tx`ALTER TABLE directive_transitions ENABLE TRIGGER USER`;
        });
      });
      const report = await auditLedger(sql);
      assertEquals(report.broken?.rowId, rows[2]!.id);
      assert(report.broken?.problem.includes("does not link to the previous row's hash"));
    });
  } finally {
    await db.drop();
  }
});

Deno.test("audit --help and a malformed --directive are handled without a database", async () => {
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=audit", "src/cli/audit.ts", "--help"],
    clearEnv: true,
  }).output();
  assertEquals(help.code, 0);
  assertStringIncludes(new TextDecoder().decode(help.stdout), "Usage: deno task audit");
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=audit", "src/cli/audit.ts", "--directive", "nope"],
    clearEnv: true,
  }).output();
  assertEquals(bad.code, 2);
  assertStringIncludes(
    new TextDecoder().decode(bad.stderr),
    `--directive "nope" is not a directive id`,
  );
});
