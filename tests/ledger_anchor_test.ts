/**
 * Anchors outside Postgres: the owner can delete the ledger's tail or rewrite
 * and re-chain its history, but not the anchors already written in the
 * artifact store; the audit names both relative to the latest anchor.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import type { Sql } from "../src/db/mod.ts";
import { createMigratedDatabase, type TestDatabase, withSql } from "./_db.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, startLoopHarness } from "./_loop.ts";
import { startS3Server } from "./_s3.ts";
import {
  type AnchorStore,
  createFsAnchorStore,
  createS3AnchorStore,
} from "../src/artifacts/mod.ts";
import {
  anchorLedger,
  anchorName,
  auditLedger,
  GENESIS_HASH,
  latestAnchor,
  LedgerAnchorError,
  ledgerContent,
  sha256Hex,
  submitDirective,
  transitionDirective,
} from "../src/directives/mod.ts";
import { TransitionRow } from "../src/models/mod.ts";
import type { reconcilerWorkflow } from "../src/workflows/reconciler/workflows.ts";
import { historyToJSON } from "@temporalio/common/lib/proto-utils.js";
import { historyFilesIn, replay } from "./_replay.ts";

const schema = builtinSchema();

async function withDb(fn: (db: TestDatabase, dir: string) => Promise<void>): Promise<void> {
  const db = await createMigratedDatabase("keel_anchor");
  // Under the audit task's permitted path, so the CLI can read and write it.
  const dir = `.data/artifacts/test-anchor-${crypto.randomUUID()}`;
  try {
    await fn(db, dir);
  } finally {
    await db.drop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function runAudit(
  db: TestDatabase,
  dir: string,
  ...args: string[]
): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=audit", "src/cli/audit.ts", ...args],
    env: { DATABASE_URL: db.appUrl, KEEL_ARTIFACT_DIR: dir },
    clearEnv: true,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, out: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

/** Two directives with a few transitions each; returns their ids in submit order. */
async function history(sql: Sql): Promise<[string, string]> {
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { directive } = await submitDirective(sql, echoDocument(), { schema });
    for (const to of ["approved", "executing"] as const) {
      await transitionDirective(sql, { directiveId: directive.id, to, actor: "keel", reason: to });
    }
    ids.push(directive.id);
  }
  return ids as [string, string];
}

/**
 * As the owner with the triggers off: changes one row's actor and recomputes
 * the hashes of that row and every later row of its directive, so the chain
 * verifies again.
 */
async function rewriteAndRechain(db: TestDatabase, directiveId: string, seq: number) {
  await withSql(db.ownerUrl, async (owner) => {
    await owner.begin(async (tx) => {
      await tx`ALTER TABLE directive_transitions DISABLE TRIGGER USER`;
      const rows = (await tx`
        SELECT * FROM directive_transitions WHERE directive_id = ${directiveId} ORDER BY id`)
        .map((row) => TransitionRow.parse(row));
      let prev = GENESIS_HASH;
      for (const row of rows) {
        const actor = row.seq === seq ? "mallory" : row.actor;
        const hash = await sha256Hex(ledgerContent({ ...row, actor }, prev));
        await tx`UPDATE directive_transitions SET actor = ${actor}, prev_hash = ${prev},
          hash = ${hash} WHERE id = ${row.id}`;
        prev = hash;
      }
      await tx`ALTER TABLE directive_transitions ENABLE TRIGGER USER`;
    });
  });
}

Deno.test("audit --anchor writes the head outside Postgres; a deleted tail is then named, and never anchored over", async () => {
  await withDb(async (db, dir) => {
    await withSql(db.appUrl, (sql) => history(sql));
    const first = await runAudit(db, dir, "--anchor");
    assertEquals(first.code, 0, first.out);
    assertStringIncludes(first.out, "every chain is intact; no anchor yet");
    assertStringIncludes(first.out, "audit: anchored head row");
    const store = createFsAnchorStore({ dir });
    const latest = await latestAnchor(store);
    assert(latest);
    assertEquals(latest.anchor.rows, 8);
    assertEquals(latest.name, anchorName(latest.anchor.last_id));
    // Anchoring an unchanged head writes nothing new, and a name is never overwritten.
    const again = await runAudit(db, dir, "--anchor");
    assertStringIncludes(again.out, `matches anchor ${latest.name}`);
    assertStringIncludes(again.out, "already anchored");
    assertEquals(await store.list(), [latest.name]);
    assertEquals((await store.put(latest.name, new Uint8Array([1]))).created, false);
    assertEquals(JSON.parse(new TextDecoder().decode(await store.get(latest.name))), latest.anchor);

    // The owner deletes the last two rows: every chain still verifies on its own.
    await withSql(db.ownerUrl, async (owner) => {
      await owner.begin(async (tx) => {
        await tx`ALTER TABLE directive_transitions DISABLE TRIGGER USER`;
        await tx`DELETE FROM directive_transitions WHERE id IN (
          SELECT id FROM directive_transitions ORDER BY id DESC LIMIT 2)`;
        await tx`ALTER TABLE directive_transitions ENABLE TRIGGER USER`;
      });
    });
    await withSql(db.appUrl, async (sql) => {
      const chainsOnly = await auditLedger(sql);
      assertEquals(chainsOnly.broken, undefined, "the tail deletion keeps every chain linked");
      const { findings } = await auditLedger(sql, { anchor: latest.anchor });
      const anchored = findings.filter((f) => f.kind === "anchor").map((f) => f.problem);
      assert(
        anchored.some((p) =>
          p.includes(`anchored head row ${latest.anchor.last_id} is missing`) &&
          p.includes("tail was deleted")
        ),
        JSON.stringify(anchored),
      );
      assert(
        anchored.some((p) => p.includes("6 ledger rows up to row") && p.includes("anchored 8")),
      );
      await assertRejects(
        () => anchorLedger(sql, store, { now: new Date() }),
        LedgerAnchorError,
        "tail was deleted",
      );
    });
    const audit = await runAudit(db, dir, "--anchor");
    assertEquals(audit.code, 1, audit.out);
    assertStringIncludes(audit.out, `the anchored head row ${latest.anchor.last_id} is missing`);
    assertEquals(await store.list(), [latest.name], "a tampered ledger was anchored");
  });
});

Deno.test("rewriting and re-chaining history is named relative to the last anchor", async () => {
  await withDb(async (db, dir) => {
    const store = createFsAnchorStore({ dir });
    const [older, head] = await withSql(db.appUrl, async (sql) => {
      const ids = await history(sql);
      const written = await anchorLedger(sql, store, { now: new Date() });
      assert(written.created);
      return ids;
    });
    const latest = (await latestAnchor(store))!;

    // An earlier directive, rewritten and re-chained: its chain verifies again.
    await rewriteAndRechain(db, older, 3);
    await withSql(db.appUrl, async (sql) => {
      assertEquals((await auditLedger(sql)).findings, [], "re-chaining fools the chain check");
      const { findings } = await auditLedger(sql, { anchor: latest.anchor });
      assertEquals(findings.length, 1, JSON.stringify(findings));
      assertStringIncludes(findings[0]!.problem, `the rows up to row ${latest.anchor.last_id}`);
      assertStringIncludes(findings[0]!.problem, "rewritten");
    });

    // The head's own directive rewritten: the anchored head hash differs.
    await rewriteAndRechain(db, head, 2);
    const audit = await runAudit(db, dir);
    assertEquals(audit.code, 1, audit.out);
    assertStringIncludes(
      audit.out,
      `the anchored head row ${latest.anchor.last_id} now hashes to`,
    );
    assertStringIncludes(audit.out, "history was rewritten and re-chained");
  });
});

Deno.test("the reconciler anchors the ledger on a schedule", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "keel-anchors-" });
  const anchors = createFsAnchorStore({ dir });
  const h = await startLoopHarness({ reconcileIntervalSeconds: 1, anchors, noWorker: true });
  try {
    await submitDirective(h.sql, echoDocument(), { schema });
    await h.startWorker();
    const latest = await eventually(async () => await latestAnchor(anchors), "an anchor");
    assertEquals(latest.anchor.rows, 2);
    assertEquals((await auditLedger(h.sql, { anchor: latest.anchor })).findings, []);
  } finally {
    await h.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the S3 anchor store lists, reads and never replaces an anchor", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const server = await startS3Server();
  try {
    const store: AnchorStore = createS3AnchorStore(server.options);
    assertEquals(await store.list(), []);
    const body = new TextEncoder().encode('{"a":1}');
    assertEquals(await store.put("ledger-00000000000000000002.json", body), { created: true });
    assertEquals(
      await store.put("ledger-00000000000000000002.json", new TextEncoder().encode("x")),
      { created: false },
    );
    await store.put("ledger-00000000000000000010.json", body);
    assertEquals(await store.list(), [
      "ledger-00000000000000000002.json",
      "ledger-00000000000000000010.json",
    ]);
    assertEquals(
      new TextDecoder().decode(await store.get("ledger-00000000000000000002.json")),
      '{"a":1}',
    );
    await assertRejects(() => store.get("../sha256/x"), Error, "Cannot address anchor");
  } finally {
    await server.stop();
  }
});

const RECONCILER_HISTORIES = "tests/histories/reconciler";

/**
 * With KEEL_CAPTURE_HISTORIES=1, records one whole run (three passes, then
 * continue-as-new) of the reconciler under the workflow code checked out now:
 * `pre_anchor.json` was recorded before the `keel-ledger-anchor` patch,
 * `anchored.json` after it.
 */
Deno.test(
  "reconciler histories from before and after the anchor patch replay against the current code",
  {
    sanitizeOps: false,
    sanitizeResources: false,
  },
  async () => {
    const name = Deno.env.get("KEEL_CAPTURE_RECONCILER_AS");
    if (Deno.env.get("KEEL_CAPTURE_HISTORIES") === "1" && name) {
      const h = await startLoopHarness({
        anchors: createFsAnchorStore({ dir: await Deno.makeTempDir() }),
      });
      try {
        await submitDirective(h.sql, echoDocument(), { schema });
        const handle = await h.client.workflow.start<typeof reconcilerWorkflow>(
          "reconcilerWorkflow",
          {
            workflowId: `reconciler-${name}`,
            taskQueue: h.target.taskQueue,
            args: [{ intervalSeconds: 1, batchSize: 10, passesPerRun: 3, anchorEveryPasses: 2 }],
          },
        );
        const first = handle.firstExecutionRunId;
        await eventually(async () => {
          const description = await h.client.workflow.getHandle(`reconciler-${name}`).describe();
          return description.runId !== first;
        }, "a continued-as-new run");
        const history = await h.client.workflow.getHandle(`reconciler-${name}`, first)
          .fetchHistory();
        await Deno.mkdir(RECONCILER_HISTORIES, { recursive: true });
        await Deno.writeTextFile(
          `${RECONCILER_HISTORIES}/${name}.json`,
          historyToJSON(history) + "\n",
        );
        await h.client.workflow.getHandle(`reconciler-${name}`).terminate("captured");
      } finally {
        await h.stop();
      }
    }
    const files = await historyFilesIn(RECONCILER_HISTORIES);
    assertEquals(files.map((f) => f.replace(/^.*\//, "")), ["anchored.json", "pre_anchor.json"]);
    const anchored = await Deno.readTextFile(`${RECONCILER_HISTORIES}/anchored.json`);
    assertStringIncludes(anchored, "anchorLedger", "the new history schedules the activity");
    assert(
      !(await Deno.readTextFile(`${RECONCILER_HISTORIES}/pre_anchor.json`)).includes(
        "anchorLedger",
      ),
    );
    for (const result of await replay("src/workflows/mod.ts", files)) {
      assertEquals(result.error, null, `${result.workflowId}: ${result.error?.message}`);
    }
  },
);
