/**
 * Races at the approval gate: decisions arriving at once over every channel
 * (Update, Signal, the database directly, as the CLI's fallback does), and
 * duplicate aborts. Exactly one decision takes effect; every other caller gets
 * a clear error or the same stored answer, and the ledger shows one move.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from "@temporalio/client";
import { decideApproval, DecisionConflictError, submitDirective } from "../src/directives/mod.ts";
import { startLoop, waitForLoop } from "../src/loop/mod.ts";
import { sendUpdate } from "../src/loop/commands.ts";
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  directiveWorkflowId,
  rejectSignal,
  rejectUpdate,
  statusQuery,
} from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, type LoopHarness, startLoopHarness } from "./_loop.ts";

const schema = builtinSchema();

async function gated(h: LoopHarness): Promise<string> {
  const { directive } = await submitDirective(h.sql, echoDocument(), { schema });
  await startLoop(h.target, directive.id);
  const handle = h.client.workflow.getHandle(directiveWorkflowId(directive.id));
  await eventually(
    async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
    "the approval gate",
  );
  return directive.id;
}

async function movesOutOfProposed(h: LoopHarness, id: string): Promise<string[]> {
  const rows = await h.sql<{ to_status: string; actor: string }[]>`
    SELECT to_status, actor FROM directive_transitions
     WHERE directive_id = ${id} AND from_status = 'proposed'`;
  return rows.map((r) => `${r.to_status} by ${r.actor}`);
}

function raceTest(name: string, fn: (h: LoopHarness) => Promise<void>): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      // The reconciler tells a waiting loop of an approval stored without
      // it; a rejection stored so is only seen when the gate times out.
      const h = await startLoopHarness({
        reconcileIntervalSeconds: 1,
        policy: { approval_timeout_seconds: 6 },
      });
      try {
        await fn(h);
      } finally {
        await h.stop();
      }
    },
  });
}

raceTest(
  "approvals and rejections over Update, Signal and the database at once: one takes effect",
  async (h) => {
    const id = await gated(h);
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    const by = (channel: string, i: number) => ({ actor: `${channel}-${i}`, reason: "race" });
    const updates = Array.from(
      { length: 8 },
      (_, i) =>
        sendUpdate(() =>
          handle.executeUpdate(i % 2 ? rejectUpdate : approveUpdate, { args: [by("update", i)] })
        ),
    );
    const signals = Array.from(
      { length: 4 },
      (_, i) => handle.signal(i % 2 ? rejectSignal : approveSignal, by("signal", i)),
    );
    const direct = Array.from(
      { length: 4 },
      (_, i) =>
        decideApproval(h.sql, {
          directiveId: id,
          decision: i % 2 ? "rejected" : "approved",
          ...by("db", i),
        }),
    );
    const [u, s, d] = await Promise.all([
      Promise.allSettled(updates),
      Promise.allSettled(signals),
      Promise.allSettled(direct),
    ]);
    assert(s.every((o) => o.status === "fulfilled"), "signals are always accepted");

    const [approval] = await h.sql<{ decision: string; actor: string }[]>`
      SELECT decision, actor FROM approvals WHERE directive_id = ${id}`;
    assert(approval, "one decision is stored");
    const target = approval.decision === "approved" ? "approved" : "aborted";
    assertEquals(await movesOutOfProposed(h, id), [`${target} by ${approval.actor}`]);

    // Each caller got the stored decision or a clear refusal.
    for (const outcome of u) {
      if (outcome.status === "fulfilled") {
        assertEquals(outcome.value.decision, approval.decision);
        continue;
      }
      // The loop ended before this Update reached it (Keel's API answers from Postgres).
      if (outcome.reason instanceof WorkflowNotFoundError) continue;
      assert(outcome.reason instanceof WorkflowUpdateFailedError, String(outcome.reason));
      const cause = outcome.reason.cause as Error & { cause?: Error };
      const message = `${cause?.message} ${cause?.cause?.message ?? ""}`;
      assert(
        /already has a decision|not awaiting approval|is being recorded|already (approved|rejected) by/
          .test(
            message,
          ),
        message,
      );
    }
    let recorded = 0;
    for (const outcome of d) {
      if (outcome.status === "fulfilled") {
        assertEquals(outcome.value.approval.decision, approval.decision);
        if (outcome.value.recorded) recorded++;
      } else {
        assert(outcome.reason instanceof DecisionConflictError, String(outcome.reason));
        assertStringIncludes(
          outcome.reason.message,
          `already ${approval.decision} by "${approval.actor}"`,
        );
      }
    }
    assert(recorded <= 1, `${recorded} direct writes claimed to record`);

    const result = await waitForLoop(h.client, id);
    assertEquals(
      result.status,
      approval.decision === "approved" ? "complete" : "aborted",
      `${JSON.stringify(result)} ${
        JSON.stringify(await h.sql`SELECT * FROM approvals WHERE directive_id = ${id}`)
      }`,
    );
    const [counts] = await h.sql<{ approvals: number; runs: number }[]>`
      SELECT (SELECT count(*)::int FROM approvals WHERE directive_id = ${id}) AS approvals,
             (SELECT count(*)::int FROM execution_runs WHERE directive_id = ${id}) AS runs`;
    assertEquals(
      { ...counts },
      { approvals: 1, runs: approval.decision === "approved" ? 1 : 0 },
    );
  },
);

raceTest(
  "duplicate aborts at the gate: one ledger move, every caller gets the same end",
  async (h) => {
    const id = await gated(h);
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    // Each caller sends as Keel's API does (`sendUpdate`: again when the
    // server dropped the Update in a workflow task that raced a signal).
    const aborts = Array.from(
      { length: 6 },
      (_, i) =>
        sendUpdate(() =>
          handle.executeUpdate(abortUpdate, { args: [{ actor: `ops-${i}`, reason: "stop" }] })
        ),
    );
    const signals = Array.from(
      { length: 3 },
      (_, i) => handle.signal(abortSignal, { actor: `pager-${i}`, reason: "stop" }),
    );
    const settled = await Promise.allSettled(aborts);
    await Promise.all(signals);
    // An Update that reaches the loop after it ended (an abort takes tens of
    // milliseconds) finds no running workflow; Keel's API and CLI answer that
    // case from Postgres. Every Update the loop took gets the same end.
    const results = settled.flatMap((o) => o.status === "fulfilled" ? [o.value] : []);
    for (const outcome of settled) {
      if (outcome.status === "rejected") {
        assert(outcome.reason instanceof WorkflowNotFoundError, String(outcome.reason));
      }
    }
    assert(new Set(results.map((r) => `${r.status}:${r.reason}`)).size <= 1);
    for (const result of results) assertEquals(result.status, "aborted");
    const moves = await movesOutOfProposed(h, id);
    assertEquals(moves.length, 1);
    assertStringIncludes(moves[0] ?? "", "aborted by ");
    assertEquals((await waitForLoop(h.client, id)).status, "aborted");

    // After the end, every further decision is refused and names why.
    // Temporal no longer has a running loop to ask (its error carries no
    // message, only its type); the database names the directive's status.
    await assertRejects(
      () => handle.executeUpdate(approveUpdate, { args: [{ actor: "late", reason: "too late" }] }),
      WorkflowNotFoundError,
    );
    await assertRejects(
      () =>
        decideApproval(h.sql, {
          directiveId: id,
          decision: "approved",
          actor: "late",
          reason: "x",
        }),
      Error,
      "aborted",
    );
    assertEquals((await movesOutOfProposed(h, id)).length, 1);
  },
);
