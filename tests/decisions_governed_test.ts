/**
 * Decisions that cannot be forged or wedged: a message sent straight to
 * Temporal without Keel's signature, or with a signature made with another
 * key, is refused and leaves no record; a reason the database could not store
 * is refused at once and the directive stays decidable; a quorum needs
 * distinct approvers and any rejection ends it.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { Client, WorkflowUpdateFailedError } from "@temporalio/client";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { importDecisionKey, signDecision } from "../src/auth/signing.ts";
import { testDecisionKey } from "./_decisions.ts";
import { signingInterceptor } from "../src/auth/signing_interceptor.ts";
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  directiveWorkflowId,
  rejectUpdate,
  statusQuery,
} from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, type LoopHarness, loopTest } from "./_loop.ts";

const schema = builtinSchema();

async function atTheGate(
  h: LoopHarness,
  document = echoDocument(),
  submittedBy?: string,
): Promise<string> {
  const result = await submitAndStart(h.sql, h.target, {
    document,
    schema,
    ...(submittedBy === undefined ? {} : { submittedBy }),
  });
  assertEquals(result.startError, undefined);
  const id = result.directive.id;
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  await eventually(
    async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
    `directive ${id} at the gate`,
  );
  return id;
}

async function records(h: LoopHarness, id: string) {
  const [row] = await h.sql<
    { status: string; approvals: number; nonces: number; ledger: number }[]
  >`
    SELECT d.status,
      (SELECT count(*)::int FROM approvals WHERE directive_id = d.id) AS approvals,
      (SELECT count(*)::int FROM decision_nonces WHERE directive_id = d.id) AS nonces,
      (SELECT count(*)::int FROM directive_transitions WHERE directive_id = d.id) AS ledger
    FROM directives d WHERE d.id = ${id}`;
  return row!;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await assertRejects(() => promise, WorkflowUpdateFailedError);
  return String((error.cause as Error | undefined)?.message);
}

loopTest("a raw Temporal client cannot approve, reject or abort under any name", async (h) => {
  const id = await atTheGate(h);
  const before = await records(h, id);
  const raw = new Client({ connection: h.client.connection });
  const handle = raw.workflow.getHandle(directiveWorkflowId(id));
  for (const update of [approveUpdate, rejectUpdate, abortUpdate]) {
    const why = await refusal(
      handle.executeUpdate(update as typeof approveUpdate, {
        args: [{ actor: "ceo@example.com", reason: "trust me" }],
      }),
    );
    assertStringIncludes(why, "not signed");
  }
  // Signals cannot answer; they are dropped the same way.
  await handle.signal(approveSignal, { actor: "ceo@example.com", reason: "trust me" });
  await handle.signal(abortSignal, { actor: "ceo@example.com", reason: "trust me" });
  // A signature made with another key is refused by the worker.
  const forger = new Client({
    connection: h.client.connection,
    interceptors: {
      workflow: [signingInterceptor(await importDecisionKey("not-the-key-".repeat(4)))],
    },
  });
  const forged = forger.workflow.getHandle(directiveWorkflowId(id));
  for (const update of [approveUpdate, abortUpdate]) {
    const why = await refusal(
      forged.executeUpdate(update as typeof approveUpdate, {
        args: [{ actor: "ceo@example.com", reason: "trust me" }],
      }),
    );
    assertStringIncludes(why, "signature does not match");
  }
  assertEquals(await records(h, id), before);
  const status = await h.client.workflow.getHandle(directiveWorkflowId(id)).query(statusQuery);
  assertEquals(status.phase, "awaiting_approval");
  assertEquals(status.abortRequested, false);
  // The real thing still works.
  const reply = await h.client.workflow.getHandle(directiveWorkflowId(id)).executeUpdate(
    approveUpdate,
    { args: [{ actor: "reviewer", reason: "signed by the API" }] },
  );
  assertEquals(reply.directiveStatus, "approved");
  await waitForLoop(h.client, id);
  assertEquals((await records(h, id)).nonces, 1);
});

loopTest(
  "a reason the ledger cannot store is refused at once; the directive stays decidable",
  async (h) => {
    const id = await atTheGate(h);
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    const bad = {
      "2,000 characters": "x".repeat(2000),
      "a NUL": "before\u0000after",
      "a lone surrogate": "half \ud800 a pair",
    };
    for (const [what, reason] of Object.entries(bad)) {
      for (const update of [approveUpdate, rejectUpdate, abortUpdate]) {
        const why = await refusal(
          handle.executeUpdate(update as typeof approveUpdate, { args: [{ actor: "qa", reason }] }),
        );
        assert(/reason must/.test(why), `${what}: ${why}`);
      }
    }
    const state = await records(h, id);
    assertEquals([state.status, state.approvals, state.nonces], ["proposed", 0, 0]);
    const ended = await handle.executeUpdate(abortUpdate, {
      args: [{ actor: "qa", reason: "a clean abort after the bad ones" }],
    });
    assertEquals(ended.status, "aborted");
  },
);

loopTest(
  "a quorum needs distinct approvers; the same one twice counts once; a reject ends it",
  async (h) => {
    const id = await atTheGate(h);
    const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
    const first = await handle.executeUpdate(approveUpdate, {
      args: [{ actor: "alice", reason: "fine by me" }],
    });
    assertEquals(first, {
      decision: "approved",
      directiveStatus: "proposed",
      approvals: 1,
      required: 2,
    });
    const again = await handle.executeUpdate(approveUpdate, {
      args: [{ actor: "alice", reason: "fine by me" }],
    });
    assertEquals(again.approvals, 1);
    const status = await handle.query(statusQuery);
    assertEquals([status.phase, status.approvals], ["awaiting_approval", {
      count: 1,
      required: 2,
    }]);
    const second = await handle.executeUpdate(approveUpdate, {
      args: [{ actor: "bob", reason: "second pair of eyes" }],
    });
    assertEquals([second.directiveStatus, second.approvals], ["approved", 2]);
    const result = await waitForLoop(h.client, id);
    assertEquals(result.status, "complete");

    const other = await atTheGate(h);
    const otherHandle = h.client.workflow.getHandle(directiveWorkflowId(other));
    await otherHandle.executeUpdate(approveUpdate, { args: [{ actor: "alice", reason: "ok" }] });
    const rejected = await otherHandle.executeUpdate(rejectUpdate, {
      args: [{ actor: "carol", reason: "not this one" }],
    });
    assertEquals(rejected.directiveStatus, "aborted");
    assertEquals((await waitForLoop(h.client, other)).status, "aborted");
    const rows = await h.sql`
      SELECT actor, decision FROM approvals WHERE directive_id = ${other} ORDER BY decided_at`;
    assertEquals(rows.map((r) => `${r.actor}:${r.decision}`), ["alice:approved", "carol:rejected"]);
  },
  {
    policy: {
      approvals: { required: 1, rules: [{ types: ["echo"], required: 2 }] },
    },
  },
);

loopTest("the principal who submitted cannot approve; another one can", async (h) => {
  const id = await atTheGate(h, echoDocument(), "agent-7");
  const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
  const why = await refusal(
    handle.executeUpdate(approveUpdate, { args: [{ actor: "agent-7", reason: "my own idea" }] }),
  );
  assertStringIncludes(why, "separation of duties");
  assertEquals((await records(h, id)).approvals, 0);
  const [row] = await h.sql`SELECT submitted_by FROM directives WHERE id = ${id}`;
  assertEquals(row?.submitted_by, "agent-7");
  const [creation] = await h.sql`
    SELECT actor FROM directive_transitions WHERE directive_id = ${id} ORDER BY id LIMIT 1`;
  assertEquals(creation?.actor, "agent-7");
  const reply = await handle.executeUpdate(approveUpdate, {
    args: [{ actor: "reviewer", reason: "someone else" }],
  });
  assertEquals(reply.directiveStatus, "approved");
  await waitForLoop(h.client, id);
});

loopTest(
  "an approval signalled before the loop reaches its gate is kept, not dropped",
  async (h) => {
    const result = await submitAndStart(h.sql, h.target, { document: echoDocument(), schema });
    const id = result.directive.id;
    // Sent at once: the loop is most likely still evaluating the policy.
    await h.client.workflow.getHandle(directiveWorkflowId(id)).signal(approveSignal, {
      actor: "early-reviewer",
      reason: "approved as soon as it was proposed",
    });
    assertEquals((await waitForLoop(h.client, id)).status, "complete");
    const [row] = await h.sql`SELECT actor FROM approvals WHERE directive_id = ${id}`;
    assertEquals(row?.actor, "early-reviewer");
  },
);

loopTest(
  "a captured signed approval counts once, and is refused for any other directive",
  async (h) => {
    const first = await atTheGate(h);
    const other = await atTheGate(h);
    // What someone watching Temporal could copy: a real, signed message.
    const captured = await signDecision(await testDecisionKey(), first, "approve", {
      actor: "alice",
      reason: "fine by me",
    });
    const raw = new Client({ connection: h.client.connection });
    const handle = raw.workflow.getHandle(directiveWorkflowId(first));
    const once = await handle.executeUpdate(approveUpdate, { args: [captured] });
    const twice = await handle.executeUpdate(approveUpdate, { args: [captured] });
    assertEquals([once.approvals, twice.approvals, twice.required], [1, 1, 2]);
    assertEquals((await records(h, first)).approvals, 1);
    const why = await refusal(
      raw.workflow.getHandle(directiveWorkflowId(other)).executeUpdate(approveUpdate, {
        args: [captured],
      }),
    );
    assertStringIncludes(why, "signature does not match");
    assertEquals((await records(h, other)).approvals, 0);
  },
  { policy: { approvals: { required: 2 } } },
);
