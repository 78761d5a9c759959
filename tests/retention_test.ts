/**
 * Retention: `deno task prune --older-than` removes execution payloads and
 * artifact bodies past retention, and never touches the ledger, approvals,
 * policy evaluations, evaluations or the budget ledger. Runs the real CLI
 * under its own permission set against a real migrated database.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import type { Sql } from "../src/db/mod.ts";
import { auditLedger, submitDirective, transitionDirective } from "../src/directives/mod.ts";
import { parseDuration, RetentionDurationError } from "../src/retention/mod.ts";
import { createFsStore } from "../src/artifacts/mod.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { createMigratedDatabase, type TestDatabase, withSql } from "./_db.ts";

const OLD = new Date("2020-01-01T00:00:00Z");
const PROTECTED = [
  "directive_transitions",
  "approvals",
  "policy_evaluations",
  "evaluations",
  "budget_ledger",
  "directives",
] as const;

interface Seeded {
  done: string;
  running: string;
}

async function directiveAt(app: Sql, status: "complete" | "executing"): Promise<string> {
  const { directive } = await submitDirective(app, echoDocument(), { schema: builtinSchema() });
  const path = status === "complete"
    ? (["approved", "executing", "complete"] as const)
    : (["approved", "executing"] as const);
  for (const to of path) {
    await transitionDirective(app, { directiveId: directive.id, to, actor: "test", reason: to });
  }
  return directive.id;
}

/** Each directive gets an old run with a result, an old inline and stored artifact, and a fresh artifact. */
async function seed(db: TestDatabase): Promise<Seeded> {
  const ids = await withSql(db.appUrl, async (app) => ({
    done: await directiveAt(app, "complete"),
    running: await directiveAt(app, "executing"),
  }));
  await withSql(db.ownerUrl, async (owner) => {
    for (const id of [ids.done, ids.running]) {
      await owner`INSERT INTO policy_evaluations (directive_id, policy_name, policy_version, verdict, reason, rule)
                  VALUES (${id}, 'default', '1', 'ALLOW', 'within budget', 'ok')`;
      await owner`INSERT INTO approvals (directive_id, decision, actor, reason)
                  VALUES (${id}, 'approved', 'alice', 'ok')`;
      const [run] = await owner<{ id: string }[]>`
        INSERT INTO execution_runs (directive_id, attempt, idempotency_key, module, status, outcome,
                                    result, started_at, finished_at, created_at)
        VALUES (${id}, 1, ${`${id}/1`}, 'echo', 'completed', 'SUCCESS',
                ${owner.json({ echoed: "x".repeat(1000) })}, ${OLD}, ${OLD}, ${OLD})
        RETURNING id`;
      const body = new TextEncoder().encode("old inline body");
      await owner`INSERT INTO artifacts (directive_id, run_id, kind, sha256, size_bytes, content_type,
                                         inline_content, created_at)
                  VALUES (${id}, ${run!.id}, 'echo', ${
        "a".repeat(64)
      }, ${body.length}, 'text/plain',
                          ${body}, ${OLD})`;
      await owner`INSERT INTO artifacts (directive_id, run_id, kind, sha256, size_bytes, content_type,
                                         storage_uri, created_at)
                  VALUES (${id}, ${run!.id}, 'big', ${
        "b".repeat(64)
      }, 1000000, 'application/octet-stream',
                          ${`file:///objects/${id}`}, ${OLD})`;
      await owner`INSERT INTO artifacts (directive_id, run_id, kind, sha256, size_bytes, content_type,
                                         inline_content)
                  VALUES (${id}, ${run!.id}, 'fresh', ${"c".repeat(64)}, 5, 'text/plain',
                          ${new TextEncoder().encode("fresh")})`;
      await owner`INSERT INTO evaluations (directive_id, run_id, evaluator, score, created_at)
                  VALUES (${id}, ${run!.id}, 'exact', 1, ${OLD})`;
      await owner`INSERT INTO budget_ledger
                    (directive_id, idempotency_key, version, provider, model, amount, currency)
                  VALUES (${id}, ${`${id}/llm/1`}, 1, 'anthropic', 'm', '0.0100', 'USD')`;
    }
  });
  return ids;
}

/** A digest of every protected table's full content. */
async function protectedDigest(sql: Sql): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of PROTECTED) {
    const [row] = await sql<{ digest: string | null; n: number }[]>`
      SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest, count(*)::int AS n
        FROM ${sql(table)} t`;
    out[table] = `${row?.n}:${row?.digest}`;
  }
  return out;
}

async function prune(env: Record<string, string>, ...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=prune", "src/cli/prune.ts", ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("parseDuration reads s/m/h/d/w and names a bad value", () => {
  assertEquals(parseDuration("30d"), 30 * 86_400_000);
  assertEquals(parseDuration("90m"), 90 * 60_000);
  assertEquals(parseDuration("2w"), 14 * 86_400_000);
  for (const bad of ["", "0d", "30", "d", "-1d", "1.5h", "30 days"]) {
    try {
      parseDuration(bad);
      throw new Error(`"${bad}" was accepted`);
    } catch (error) {
      assert(error instanceof RetentionDurationError, `"${bad}": ${error}`);
      assert((error as Error).message.includes(`"${bad}"`));
    }
  }
});

Deno.test("prune removes old payloads of finished directives and nothing it must keep", async () => {
  const db = await createMigratedDatabase("keel_prune");
  try {
    const ids = await seed(db);
    const env = { MIGRATION_DATABASE_URL: db.ownerUrl, KEEL_ACTOR: "ops@example.com" };
    const before = await withSql(db.ownerUrl, protectedDigest);

    // Bad usage: no duration, bad duration.
    assertEquals((await prune(env)).code, 2);
    const bad = await prune(env, "--older-than", "soon");
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes('"soon"'), bad.stderr);

    // A dry run counts exactly the old payloads of the finished directive and changes nothing.
    const dry = await prune(env, "--older-than", "30d", "--dry-run", "--json");
    assertEquals(dry.code, 0, dry.stderr);
    const dryReport = JSON.parse(dry.stdout);
    assertEquals([dryReport.runsPruned, dryReport.artifactsPruned], [1, 2]);
    await withSql(db.ownerUrl, async (owner) => {
      const [n] = await owner<{ n: number }[]>`
        SELECT (SELECT count(*)::int FROM retention_tombstones)
             + (SELECT count(*)::int FROM artifacts WHERE pruned_at IS NOT NULL) AS n`;
      assertEquals(n?.n, 0);
    });

    const real = await prune(env, "--older-than", "30d", "--json");
    assertEquals(real.code, 0, real.stderr);
    const report = JSON.parse(real.stdout);
    assertEquals([report.runsPruned, report.artifactsPruned], [1, 2]);
    assert(report.bytesRemoved > 1_000_000, `bytes ${report.bytesRemoved}`);

    await withSql(db.ownerUrl, async (owner) => {
      const runs = await owner<{ directive_id: string; has_result: boolean }[]>`
        SELECT directive_id, result IS NOT NULL AS has_result FROM execution_runs`;
      assertEquals(
        Object.fromEntries(runs.map((r) => [r.directive_id, r.has_result])),
        { [ids.done]: false, [ids.running]: true },
      );
      const arts = await owner<
        { directive_id: string; kind: string; pruned: boolean; body: boolean; sha256: string }[]
      >`SELECT directive_id, kind, pruned_at IS NOT NULL AS pruned,
               inline_content IS NOT NULL OR storage_uri IS NOT NULL AS body, sha256
          FROM artifacts ORDER BY directive_id, kind`;
      for (const a of arts) {
        const expectPruned = a.directive_id === ids.done && a.kind !== "fresh";
        assertEquals(a.pruned, expectPruned, `${a.kind} of ${a.directive_id}`);
        // Metadata stays; inline bodies go; stored objects keep their pointer for lifecycle deletion.
        assertEquals(a.body, !(expectPruned && a.kind === "echo"), `${a.kind} body`);
        assertEquals(a.sha256.length, 64);
      }
      const tombs = await owner<
        { table_name: string; actor: string; storage_uri: string | null }[]
      >`
        SELECT table_name, actor, storage_uri FROM retention_tombstones ORDER BY table_name, storage_uri`;
      assertEquals(tombs.map((t) => [t.table_name, t.actor, t.storage_uri]), [
        ["artifacts", "ops@example.com", `file:///objects/${ids.done}`],
        ["artifacts", "ops@example.com", null],
        ["execution_runs", "ops@example.com", null],
      ]);
      assertEquals(await protectedDigest(owner), before, "a protected table changed");
      assertEquals((await auditLedger(owner)).broken, undefined);
    });

    // A second prune finds nothing left.
    const again = JSON.parse((await prune(env, "--older-than", "30d", "--json")).stdout);
    assertEquals([again.runsPruned, again.artifactsPruned], [0, 0]);
  } finally {
    await db.drop();
  }
});

Deno.test("the application role can neither prune nor rewrite an artifact; the owner cannot bypass the prune function", async () => {
  const db = await createMigratedDatabase("keel_prune");
  try {
    await seed(db);
    const denied = await prune({ DATABASE_URL: db.appUrl }, "--older-than", "1d");
    assertEquals(denied.code, 1);
    assert(denied.stderr.includes("permission denied"), denied.stderr);
    await withSql(db.appUrl, async (app) => {
      await assertRejects(() => app`SELECT * FROM keel_prune_payloads(now(), 'x', false)`);
      await assertRejects(() => app`UPDATE artifacts SET inline_content = NULL`);
    });
    await withSql(db.ownerUrl, async (owner) => {
      // Outside keel_prune_payloads the immutability trigger still refuses the prune shape.
      await assertRejects(
        () =>
          owner`UPDATE artifacts SET inline_content = NULL, pruned_at = now() WHERE kind = 'echo'`,
        Error,
        "artifacts are immutable",
      );
      await assertRejects(
        () => owner`SELECT * FROM keel_prune_payloads(now() + interval '1 day', 'x', false)`,
        Error,
        "is in the future",
      );
      const [n] = await owner<{ n: number }[]>`SELECT count(*)::int AS n FROM retention_tombstones`;
      assertEquals(n?.n, 0);
    });
  } finally {
    await db.drop();
  }
});

Deno.test("prune removes stored bodies once every artifact using them is pruned", async () => {
  const db = await createMigratedDatabase("keel_purge");
  // Under the prune permission set's write path, in a folder of its own.
  const dir = `.data/artifacts/test-${crypto.randomUUID()}`;
  const store = createFsStore({ dir });
  try {
    const ids = await withSql(db.appUrl, async (app) => ({
      done: await directiveAt(app, "complete"),
      running: await directiveAt(app, "executing"),
    }));
    const only = await store.put(new Uint8Array(70_000).fill(1), { contentType: "x/y" });
    const shared = await store.put(new Uint8Array(70_000).fill(2), { contentType: "x/y" });
    await withSql(db.ownerUrl, async (owner) => {
      const rows = [[ids.done, only], [ids.done, shared], [ids.running, shared]] as const;
      for (const [directive, put] of rows) {
        await owner`INSERT INTO artifacts (directive_id, kind, sha256, size_bytes, content_type,
                                           storage_uri, created_at)
                    VALUES (${directive}, ${`k${put.key.slice(0, 8)}`}, ${put.key}, 70000,
                            'x/y', ${put.uri}, ${OLD})`;
      }
    });
    const env = {
      MIGRATION_DATABASE_URL: db.ownerUrl,
      KEEL_ARTIFACT_STORE: "fs",
      KEEL_ARTIFACT_DIR: dir,
    };
    const first = await prune(env, "--older-than", "30d", "--json");
    assertEquals(first.code, 0, first.stderr);
    assertEquals(JSON.parse(first.stdout).objectsPurged, 1);
    assertEquals(await store.exists(only.key), false, "the pruned-only body is gone");
    assertEquals(await store.exists(shared.key), true, "a body a kept artifact uses stays");
    assertEquals((await store.get(shared.key)).length, 70_000);

    const again = await prune(env, "--older-than", "30d", "--json");
    assertEquals(JSON.parse(again.stdout).objectsPurged, 0, "nothing left to remove");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await db.drop();
  }
});
