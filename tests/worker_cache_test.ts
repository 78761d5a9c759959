/**
 * A worker whose workflow cache is smaller than the directives parked at its
 * approval gate (`KEEL_MAX_CACHED_WORKFLOWS`): the parked loops are evicted,
 * and each is replayed from its history when its approval arrives.
 */
import { assert, assertEquals } from "@std/assert";
import { submitAndStart, waitForLoop } from "../src/loop/mod.ts";
import { approveUpdate, directiveWorkflowId, statusQuery } from "../src/workflows/directive/api.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { eventually, loopTest } from "./_loop.ts";

const schema = builtinSchema();
const by = { actor: "reviewer@example.com", reason: "checked the payload" };

loopTest(
  "directives parked beyond the workflow cache are evicted, then replayed and completed on approval",
  async (h) => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const submitted = await submitAndStart(h.sql, h.target, {
        document: echoDocument({ payload: { message: `parked ${i}` } }),
        schema,
      });
      assertEquals(submitted.startError, undefined);
      ids.push(submitted.directive.id);
    }
    for (const id of ids) {
      const handle = h.client.workflow.getHandle(directiveWorkflowId(id));
      await eventually(
        async () => (await handle.query(statusQuery)).phase === "awaiting_approval",
        `directive ${id} at the approval gate`,
      );
    }
    const cached = h.worker?.worker.getStatus().numCachedWorkflows ?? Number.NaN;
    assert(cached <= 2, `${cached} workflows cached, more than the cap of 2`);
    for (const id of ids) {
      await h.client.workflow.getHandle(directiveWorkflowId(id)).executeUpdate(approveUpdate, {
        args: [by],
      });
    }
    for (const id of ids) assertEquals((await waitForLoop(h.client, id)).status, "complete");
  },
  { maxCachedWorkflows: 2 },
);

loopTest(
  "workflows run on the worker's main thread, each activation still limited to 5 s",
  (h) => {
    const options = h.worker?.worker.options;
    assert(options, "no in-process worker");
    // No worker thread (a second V8 isolate): see src/worker.ts and bench/memory.ts.
    assertEquals(options.debugMode, true);
    // The SDK's deadlock detection, which debugMode alone would lift.
    assertEquals(options.isolateExecutionTimeoutMs, 5000);
    return Promise.resolve();
  },
);
