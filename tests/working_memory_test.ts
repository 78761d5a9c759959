/**
 * Working memory on the real Postgres, reached from a module's own process
 * through the sandbox's host API: what a module writes is what the
 * directive's record holds, every write is a version with the run that made
 * it, the limits hold under concurrent calls, and only a running run of the
 * directive can write. Then through the whole loop on Temporal: a retried
 * attempt reads what the failed one wrote.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { loadDirective } from "../src/directives/queries.ts";
import { claimRun, createRun, finishRun } from "../src/execution/mod.ts";
import { createSandbox, type SandboxEnding } from "../src/execution/sandbox/host.ts";
import type { ExecutionModule, ModuleInput } from "../src/execution/module.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { directiveView } from "../src/server/directive_view.ts";
import {
  readWorkingMemory,
  WORKING_MEMORY_MAX_BYTES,
  WORKING_MEMORY_MAX_WRITES,
  WorkingMemoryError,
  workingMemoryFor,
  WorkingMemoryFullError,
  writeValue,
} from "../src/working_memory/mod.ts";
import type { Sql } from "../src/db/mod.ts";
import { memoryProbeModule } from "./fixtures/modules/memory_probe.ts";
import { createMigratedDatabase, withSql } from "./_db.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { insertDirective } from "./_llm_fixtures.ts";
import { eventually, loopTest, runsOf } from "./_loop.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";

/** A directive with a running run, as the loop leaves it while a module runs. */
async function runningRun(sql: Sql): Promise<{ directiveId: string; runId: string }> {
  const directiveId = await insertDirective(sql, { amount: "1.00", currency: "USD" });
  const directive = await loadDirective(sql, directiveId);
  const { run } = await createRun(sql, { directive: { ...directive, type: "echo" }, attempt: 1 });
  await claimRun(sql, run.id);
  return { directiveId, runId: run.id };
}

function input(ids: { directiveId: string; runId: string }, payload: unknown): ModuleInput {
  return {
    runId: ids.runId,
    directiveId: ids.directiveId,
    directiveType: "memory_probe",
    attempt: 1,
    payload: payload as Record<string, unknown>,
    idempotencyKey: `${ids.directiveId}:downstream`,
    budget: { amount: "1", currency: "USD" },
    timeboxSeconds: 60,
    deadline: Date.now() + 60_000,
    constraints: [],
  };
}

function answersOf(ending: SandboxEnding): Record<string, unknown>[] {
  assertEquals(ending.kind, "result", JSON.stringify(ending));
  if (ending.kind !== "result") throw new Error("unreachable");
  return (ending.result.result as { answers: Record<string, unknown>[] }).answers;
}

async function rowsOf(sql: Sql, directiveId: string): Promise<[string, number, unknown][]> {
  const rows = await sql<{ key: string; version: number; value: unknown }[]>`
    SELECT key, version, value FROM working_memory WHERE directive_id = ${directiveId} ORDER BY id`;
  return rows.map((row) => [row.key, row.version, row.value]);
}

Deno.test("working memory through a module's process and the real Postgres", async (t) => {
  const db = await createMigratedDatabase();
  const sandbox = createSandbox({ prewarm: false });
  const probe = (sql: Sql, ids: { directiveId: string; runId: string }, payload: unknown) =>
    sandbox.run(memoryProbeModule as ExecutionModule, input(ids, payload), {
      permissions: {},
      reservation: "0",
      workingMemory: workingMemoryFor(sql, ids.directiveId, ids.runId),
    });
  try {
    await withSql(db.appUrl, async (sql) => {
      await t.step("a module sets, reads, lists and deletes; each write is a version", async () => {
        const ids = await runningRun(sql);
        const answers = answersOf(
          await probe(sql, ids, {
            ops: [
              { op: "set", key: "cursor", value: 1 },
              { op: "set", key: "seen", value: { pages: [1, 2] } },
              { op: "get", key: "cursor" },
              { op: "set", key: "cursor", value: 2 },
              { op: "keys" },
              { op: "delete", key: "seen" },
              { op: "delete", key: "never-set" },
              { op: "get", key: "seen" },
              { op: "set", key: "nothing", value: null },
              { op: "get", key: "nothing" },
            ],
          }),
        );
        assertEquals(answers, [
          { ok: true },
          { ok: true },
          { ok: true, value: 1 },
          { ok: true },
          { ok: true, value: ["cursor", "seen"] },
          { ok: true },
          { ok: true },
          { ok: true, value: "(undefined)" },
          { ok: true },
          { ok: true, value: null },
        ]);
        // Deleting an absent key appended nothing; every other write is a row.
        assertEquals(await rowsOf(sql, ids.directiveId), [
          ["cursor", 1, 1],
          ["seen", 1, { pages: [1, 2] }],
          ["cursor", 2, 2],
          ["seen", 2, null],
          ["nothing", 1, null],
        ]);
        const record = await readWorkingMemory(sql, ids.directiveId);
        assertEquals(record.entries.map((e) => [e.key, e.value, e.version, e.run_id]), [
          ["cursor", 2, 2, ids.runId],
          ["nothing", null, 1, ids.runId],
        ]);
        assertEquals(record.writes, 5);
      });

      await t.step(
        "a bad key or an undefined value is refused, naming it; nothing is written",
        async () => {
          const ids = await runningRun(sql);
          const answers = answersOf(
            await probe(sql, ids, {
              ops: [
                { op: "set", key: "../etc/passwd", value: 1 },
                { op: "set", key: "x".repeat(129), value: 1 },
                { op: "get", key: "" },
                { op: "set", key: "ok" },
                { op: "set", key: "nul", value: { text: "a\u0000b" } },
              ],
            }),
          );
          assertEquals(answers.map((a) => a.error), [
            "WorkingMemoryError",
            "WorkingMemoryError",
            "WorkingMemoryError",
            "TypeError",
            "WorkingMemoryError",
          ]);
          assertStringIncludes(String(answers[0]?.message), '"../etc/passwd"');
          assertStringIncludes(String(answers[3]?.message), '"ok" to undefined');
          assertStringIncludes(String(answers[4]?.message), 'key "nul": its value contains NUL');
          assertEquals(await rowsOf(sql, ids.directiveId), []);
        },
      );

      await t.step("the byte limit holds when a module writes concurrently", async () => {
        const ids = await runningRun(sql);
        // Each value is 10,002 bytes of JSON text: six fit in 64 KiB, the seventh does not.
        const ops = Array.from(
          { length: 10 },
          (_, i) => ({ op: "set", key: `k${i}`, fill: 10_000 }),
        );
        const answers = answersOf(await probe(sql, ids, { ops, parallel: true }));
        assertEquals(answers.filter((a) => a.ok).length, 6);
        const refused = answers.filter((a) => a.error);
        assertEquals(refused.map((a) => a.error), Array(4).fill("WorkingMemoryFullError"));
        assertMatch(String(refused[0]?.message), /key "k\d": 10002 bytes .* pass the 65536/);
        const record = await readWorkingMemory(sql, ids.directiveId);
        assertEquals(record.bytes, 6 * 10_002);
        assert(record.bytes <= WORKING_MEMORY_MAX_BYTES);
        // Replacing a value counts its new size only, not both.
        const again = answersOf(
          await probe(sql, ids, { ops: [{ op: "set", key: "k0", fill: 10_000 }] }),
        );
        assertEquals(again, [{ ok: true }]);
        // One value larger than the limit is refused before it reaches the database.
        const big = answersOf(
          await probe(sql, ids, { ops: [{ op: "set", key: "big", fill: 70_000 }] }),
        );
        assertEquals(big[0]?.error, "WorkingMemoryFullError");
        assertEquals((await rowsOf(sql, ids.directiveId)).length, 7);
      });

      await t.step("a directive takes at most its write limit", async () => {
        const ids = await runningRun(sql);
        for (let i = 0; i < WORKING_MEMORY_MAX_WRITES; i++) {
          await writeValue(sql, { ...ids, key: "counter", value: i });
        }
        await assertRejects(
          () => writeValue(sql, { ...ids, key: "counter", value: -1 }),
          WorkingMemoryFullError,
          `has had its ${WORKING_MEMORY_MAX_WRITES} writes`,
        );
        const record = await readWorkingMemory(sql, ids.directiveId);
        assertEquals(record.entries[0]?.value, WORKING_MEMORY_MAX_WRITES - 1);
        assertEquals(record.writes, WORKING_MEMORY_MAX_WRITES);
      });

      await t.step(
        "only a running run of the directive writes: the store and the database refuse",
        async () => {
          const ids = await runningRun(sql);
          const other = await runningRun(sql);
          await writeValue(sql, { ...ids, key: "before", value: true });
          // Another directive's run cannot write here.
          await assertRejects(
            () =>
              writeValue(sql, {
                directiveId: ids.directiveId,
                runId: other.runId,
                key: "x",
                value: 1,
              }),
            WorkingMemoryError,
            "is not a running run of directive",
          );
          await finishRun(sql, ids.runId, {
            status: "completed",
            outcome: "SUCCESS",
            message: "done",
          });
          await assertRejects(
            () => writeValue(sql, { ...ids, key: "after", value: true }),
            WorkingMemoryError,
            `run "${ids.runId}" is not a running run`,
          );
          // As the application role, in SQL: no forged row, no rewrite, no deletion.
          for (
            const statement of [
              sql`INSERT INTO working_memory (directive_id, run_id, key, version, value)
                VALUES (${ids.directiveId}, ${ids.runId}, 'forged', 1, '1')`,
              sql`INSERT INTO working_memory (directive_id, run_id, key, version, value)
                VALUES (${other.directiveId}, ${other.runId}, 'gap', 3, '1')`,
              sql`UPDATE working_memory SET value = '"rewritten"' WHERE directive_id = ${ids.directiveId}`,
              sql`DELETE FROM working_memory WHERE directive_id = ${ids.directiveId}`,
              sql`TRUNCATE working_memory`,
            ]
          ) {
            await assertRejects(() => statement.then(() => {}));
          }
          assertEquals(await rowsOf(sql, ids.directiveId), [["before", 1, true]]);
          assertEquals(await rowsOf(sql, other.directiveId), []);
        },
      );

      await t.step(
        "a run given no working memory is refused at once, not left waiting",
        async () => {
          const ids = await runningRun(sql);
          const ending = await sandbox.run(
            memoryProbeModule as ExecutionModule,
            input(ids, { ops: [{ op: "get", key: "a" }] }),
            { permissions: {}, reservation: "0" },
          );
          assertEquals(answersOf(ending), [{
            error: "WorkingMemoryError",
            message: "this run was given no working memory",
          }]);
        },
      );
    });
  } finally {
    await sandbox.close();
    await db.drop();
  }
});

loopTest(
  "a retried attempt reads what the failed one wrote, and the record shows both",
  async (h) => {
    const schema = builtinSchema();
    const { directive, startError } = await submitAndStart(h.sql, h.target, {
      document: echoDocument({ type: "fail_intentionally", payload: { mode: "recover" } }),
      schema,
    });
    assertEquals(startError, undefined);
    const id = directive.id;
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    await eventually(
      async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
      "the approval gate",
    );
    await handle.executeUpdate(approveUpdate, {
      args: [{ actor: "reviewer@example.com", reason: "checked the payload" }],
    });
    assertEquals((await waitForLoop(h.client, id)).status, "complete");
    const runs = await runsOf(h.sql, id);
    assertEquals(runs.map((r) => [r.attempt, r.status, r.outcome]), [
      [1, "failed", "ERROR"],
      [2, "completed", "SUCCESS"],
    ]);
    assertStringIncludes(runs[0]?.message ?? "", "failure 1 of 1");
    assertStringIncludes(runs[1]?.message ?? "", "recovered at attempt 2 after 1 failure(s)");
    const view = await directiveView({ sql: h.sql }, id, new Date());
    assertEquals(
      view.working_memory.entries.map((e) => [e.key, e.value, e.attempt]),
      [["failed_attempts", 1, 1], ["recovered_at_attempt", 2, 2]],
    );
    assertEquals(view.working_memory.writes, 2);
  },
);
