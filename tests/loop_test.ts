/**
 * The control loop on a real Temporal dev server and the real Postgres: one
 * test per path through it.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import {
  ApplicationFailure,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from "@temporalio/client";
import { decideApproval } from "../src/directives/mod.ts";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { historyToJSON } from "@temporalio/common/lib/proto-utils.js";
import {
  abortUpdate,
  approveUpdate,
  directiveWorkflowId,
  rejectUpdate,
  statusQuery,
} from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, ledgerOf, type LoopHarness, loopTest, runsOf } from "./_loop.ts";

const schema = builtinSchema();

/**
 * With KEEL_CAPTURE_HISTORIES=1, writes the history of a finished loop to
 * tests/histories/ for the replay tests. The loop is one workflow: its
 * attempts are activities of it, so there is one history per path.
 */
async function capture(h: LoopHarness, id: string, name: string): Promise<void> {
  if (Deno.env.get("KEEL_CAPTURE_HISTORIES") !== "1") return;
  await Deno.mkdir("tests/histories", { recursive: true });
  const history = await h.client.workflow.getHandle(directiveWorkflowId(id)).fetchHistory();
  await Deno.writeTextFile(`tests/histories/${name}.json`, historyToJSON(history) + "\n");
}

function noopDocument(payload: Record<string, unknown> = {}): Record<string, unknown> {
  return echoDocument({
    type: "noop",
    budget: { amount: "0.50", currency: "USD" },
    payload,
  });
}

async function submit(h: LoopHarness, document: Record<string, unknown>): Promise<string> {
  const result = await submitAndStart(h.sql, h.target, { document, schema });
  assertEquals(result.startError, undefined);
  return result.directive.id;
}

async function awaitingApproval(h: LoopHarness, id: string): Promise<void> {
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  await eventually(
    async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
    "the approval gate",
  );
}

const by = { actor: "reviewer@example.com", reason: "checked the payload" };

loopTest("noop: auto-approved by policy, runs and completes", async (h) => {
  const id = await submit(h, noopDocument());
  const result = await waitForLoop(h.client, id);
  assertEquals(result.status, "complete");
  assertEquals(await ledgerOf(h.sql, id), [
    "∅>draft",
    "draft>proposed",
    "proposed>approved",
    "approved>executing",
    "executing>complete",
  ]);
  assertEquals(await runsOf(h.sql, id), [
    { attempt: 1, status: "completed", outcome: "SUCCESS", message: "nothing to do" },
  ]);
  const [approval] = await h.sql`SELECT actor, reason FROM approvals WHERE directive_id = ${id}`;
  assertStringIncludes(approval?.actor, "policy:default@");
  const [evaluation] = await h.sql`SELECT score FROM evaluations WHERE directive_id = ${id}`;
  assertEquals(evaluation?.score, 1);
  await capture(h, id, "noop_auto_approved");
});

loopTest("echo: waits for a human, approved by Update, echoes the payload", async (h) => {
  const id = await submit(h, echoDocument({ payload: { message: "hi there" } }));
  await awaitingApproval(h, id);
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  const reply = await handle.executeUpdate(approveUpdate, { args: [by] });
  assertEquals(reply, {
    decision: "approved",
    directiveStatus: "approved",
    approvals: 1,
    required: 1,
  });
  assertEquals((await waitForLoop(h.client, id)).status, "complete");
  const [artifact] = await h.sql`
    SELECT kind, content_type, inline_content, size_bytes FROM artifacts WHERE directive_id = ${id}`;
  assertEquals(artifact?.kind, "echo");
  assertEquals(
    JSON.parse(new TextDecoder().decode(artifact?.inline_content)),
    { message: "hi there" },
  );
  const [approval] = await h
    .sql`SELECT decision, actor, reason FROM approvals WHERE directive_id = ${id}`;
  assertEquals({ ...approval }, { decision: "approved", ...by });
  const [run] = await h.sql`SELECT duration_ms FROM execution_runs WHERE directive_id = ${id}`;
  assert(
    Number.isInteger(run?.duration_ms) && run?.duration_ms >= 0,
    "the module's duration is kept",
  );
  await capture(h, id, "echo_human_approved");
});

loopTest(
  "fail_intentionally FAILURE: the run fails, the directive completes with a low score",
  async (h) => {
    const id = await submit(
      h,
      echoDocument({ type: "fail_intentionally", payload: { mode: "failure" } }),
    );
    await awaitingApproval(h, id);
    await h.client.workflow.getHandle(directiveWorkflowId(id)).executeUpdate(approveUpdate, {
      args: [by],
    });
    assertEquals((await waitForLoop(h.client, id)).status, "complete");
    assertEquals(await runsOf(h.sql, id), [
      {
        attempt: 1,
        status: "failed",
        outcome: "FAILURE",
        message: "fail_intentionally returned FAILURE as asked",
      },
    ]);
    const [evaluation] = await h.sql`SELECT score FROM evaluations WHERE directive_id = ${id}`;
    assert((evaluation?.score as number) <= 0.2);
    await capture(h, id, "module_failure");
  },
);

loopTest(
  "fail_intentionally ERROR: each attempt errors, then the directive is aborted",
  async (h) => {
    const id = await submit(
      h,
      echoDocument({ type: "fail_intentionally", payload: { mode: "error" } }),
    );
    await awaitingApproval(h, id);
    await h.client.workflow.getHandle(directiveWorkflowId(id)).executeUpdate(approveUpdate, {
      args: [by],
    });
    const result = await waitForLoop(h.client, id);
    assertEquals(result.status, "aborted");
    assertStringIncludes(result.reason, "execution failed after 2 attempt(s)");
    const runs = await runsOf(h.sql, id);
    assertEquals(runs.map((r) => [r.attempt, r.status, r.outcome]), [
      [1, "failed", "ERROR"],
      [2, "failed", "ERROR"],
    ]);
    assertStringIncludes(runs[0]?.message ?? "", "fail_intentionally was asked to throw");
    assertEquals((await ledgerOf(h.sql, id)).at(-1), "executing>aborted");
    await capture(h, id, "module_error");
  },
);

loopTest("policy BLOCK: a budget over the ceiling is blocked with the reason", async (h) => {
  const id = await submit(h, echoDocument({ budget: { amount: "12.00", currency: "USD" } }));
  const result = await waitForLoop(h.client, id);
  assertEquals(result.status, "blocked");
  assertStringIncludes(result.reason, "exceeds the echo ceiling");
  assertEquals(await ledgerOf(h.sql, id), ["∅>draft", "draft>proposed", "proposed>blocked"]);
  const [verdict] = await h.sql`
    SELECT verdict, rule FROM policy_evaluations WHERE directive_id = ${id}`;
  assertEquals({ ...verdict }, { verdict: "BLOCK", rule: "budget_ceiling" });
  assertEquals(await runsOf(h.sql, id), []);
  await capture(h, id, "policy_block");
});

loopTest("human reject: the directive is aborted and no run is made", async (h) => {
  const id = await submit(h, echoDocument());
  await awaitingApproval(h, id);
  const reply = await h.client.workflow.getHandle(directiveWorkflowId(id)).executeUpdate(
    rejectUpdate,
    { args: [{ actor: "carol", reason: "out of scope" }] },
  );
  assertEquals(reply, {
    decision: "rejected",
    directiveStatus: "aborted",
    approvals: 0,
    required: 1,
  });
  assertEquals((await waitForLoop(h.client, id)).status, "aborted");
  assertEquals((await ledgerOf(h.sql, id)).at(-1), "proposed>aborted");
  assertEquals(await runsOf(h.sql, id), []);
  await capture(h, id, "human_reject");
});

loopTest("approval timeout: nobody answers, the directive is aborted", async (h) => {
  const id = await submit(h, echoDocument());
  const result = await waitForLoop(h.client, id);
  assertEquals(result.status, "aborted");
  assertEquals(result.reason, "approval timed out after 2s");
  const [row] = await h.sql`
    SELECT actor, reason FROM directive_transitions
     WHERE directive_id = ${id} AND to_status = 'aborted'`;
  assertEquals({ ...row }, { actor: "keel", reason: "approval timed out after 2s" });
  await capture(h, id, "approval_timeout");
}, { policy: { approval_timeout_seconds: 2 } });

loopTest("abort during execution cancels the heartbeating activity", async (h) => {
  const id = await submit(h, noopDocument({ sleep_ms: 60_000 }));
  await eventually(async () => (await runsOf(h.sql, id))[0]?.status === "running", "a running run");
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  const result = await handle.executeUpdate(abortUpdate, {
    args: [{ actor: "operator", reason: "changed my mind" }],
  });
  assertEquals([result.status, result.reason], ["aborted", "changed my mind"]);
  const runs = await runsOf(h.sql, id);
  assertEquals(runs.map((r) => [r.status, r.outcome]), [["canceled", null]]);
  assertEquals((await ledgerOf(h.sql, id)).at(-1), "executing>aborted");
  await capture(h, id, "abort_during_execution");
});

loopTest("the timebox ends a run that takes too long", async (h) => {
  const id = await submit(h, { ...noopDocument({ sleep_ms: 60_000 }), timebox: "2s" });
  const result = await waitForLoop(h.client, id);
  assertEquals(result.status, "aborted");
  assertStringIncludes(result.reason, "timebox of 2s exceeded");
  const runs = await runsOf(h.sql, id);
  assertEquals(runs.map((r) => r.status), ["canceled"]);
  assertStringIncludes(runs[0]?.message ?? "", "timebox of 2s exceeded: the module's process");
  const [timed] = await h.sql<{ duration_ms: number }[]>`
    SELECT duration_ms FROM execution_runs WHERE directive_id = ${id}`;
  const duration_ms = timed?.duration_ms ?? Infinity;
  assert(duration_ms <= 3000, `the module ran ${duration_ms} ms under a 2 s timebox`);
  await capture(h, id, "timebox_exceeded");
});

loopTest("duplicate submits make one directive, one loop and one run", async (h) => {
  const document = noopDocument();
  const results = await Promise.all(
    Array.from({ length: 4 }, () => submitAndStart(h.sql, h.target, { document, schema })),
  );
  assertEquals(new Set(results.map((r) => r.directive.id)).size, 1);
  const id = results[0]!.directive.id;
  assertEquals((await waitForLoop(h.client, id)).status, "complete");
  const again = await submitAndStart(h.sql, h.target, { document, schema });
  assertEquals([again.directive.id, again.created], [id, false]);
  let executions = 0;
  for await (
    const _ of h.client.workflow.list({ query: `WorkflowId = '${directiveWorkflowId(id)}'` })
  ) {
    executions++;
  }
  assertEquals(executions, 1);
  assertEquals((await runsOf(h.sql, id)).length, 1);
});

loopTest(
  "concurrent approvals: exactly one takes effect, the others get clear errors",
  async (h) => {
    const id = await submit(h, echoDocument());
    await awaitingApproval(h, id);
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: 5 },
        (_, i) =>
          handle.executeUpdate(i % 2 ? rejectUpdate : approveUpdate, {
            args: [{ actor: `reviewer-${i}`, reason: "race" }],
          }),
      ),
    );
    assertEquals(
      outcomes.filter((o) => o.status === "fulfilled").length,
      1,
    );
    for (const outcome of outcomes) {
      // An update that reaches the loop after it ended (the approved echo
      // runs in tens of milliseconds) finds no running workflow; Keel's API
      // and CLI answer that case from Postgres (tests/decisions_governed_test.ts).
      if (outcome.status === "rejected" && outcome.reason instanceof WorkflowNotFoundError) {
        continue;
      } else if (outcome.status === "rejected") {
        assert(outcome.reason instanceof WorkflowUpdateFailedError, String(outcome.reason));
        const cause = String((outcome.reason.cause as Error)?.message);
        assert(
          /already has a decision|not awaiting approval|is being recorded/.test(cause),
          cause,
        );
      }
    }
    const approvals = await h
      .sql`SELECT count(*)::int AS n FROM approvals WHERE directive_id = ${id}`;
    assertEquals(approvals[0]?.n, 1);
    await waitForLoop(h.client, id);
  },
);

loopTest("an approval without a reason is refused by the validator", async (h) => {
  const id = await submit(h, echoDocument());
  await awaitingApproval(h, id);
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  const error = await assertRejects(
    () => handle.executeUpdate(approveUpdate, { args: [{ actor: "x", reason: " " }] }),
    WorkflowUpdateFailedError,
  );
  assertStringIncludes(String((error.cause as Error)?.message), "reason is required");
  assertEquals((await handle.query(statusQuery)).phase, "awaiting_approval");
  await handle.executeUpdate(rejectUpdate, { args: [by] });
});

loopTest("a business error reaches the caller as a typed, non-retried failure", async (h) => {
  const id = await submit(h, echoDocument());
  await awaitingApproval(h, id);
  // Another client rejected it in Postgres while the loop was waiting.
  await decideApproval(h.sql, {
    directiveId: id,
    decision: "rejected",
    actor: "api:bob",
    reason: "rejected elsewhere",
  });
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  const error = await assertRejects(
    () => handle.executeUpdate(approveUpdate, { args: [by] }),
    WorkflowUpdateFailedError,
  );
  // The loop passes the worker's refusal on as its own typed failure.
  const failure = error.cause as ApplicationFailure;
  assert(failure instanceof ApplicationFailure, String(error.cause));
  assertEquals([failure.type, failure.nonRetryable], ["DecisionConflictError", true]);
  assertStringIncludes(failure.message, `already rejected by "api:bob"`);
  // The refusal told the loop of the stored rejection: it ends without waiting.
  assertEquals((await waitForLoop(h.client, id)).status, "aborted");
});
