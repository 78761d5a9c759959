/**
 * Replay: histories recorded from real runs of every path (tests/histories/,
 * written by `KEEL_CAPTURE_HISTORIES=1 deno task test tests/loop_test.ts`)
 * replay against the current workflow code. A deliberately non-deterministic
 * change is caught. Each replay runs in its own process.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { historyFilesIn, replay } from "./_replay.ts";

const HISTORIES = "tests/histories";

Deno.test("every recorded path replays against the current workflow code", async () => {
  const files = await historyFilesIn(HISTORIES);
  // One workflow per directive: no execution children.
  assertEquals(files.filter((f) => f.includes("_attempt_")), []);
  const paths = files.filter((f) => !f.includes("_attempt_")).map((f) =>
    f.replace(/^.*\//, "").replace(/\.json$/, "")
  );
  assertEquals(paths, [
    "abort_during_execution",
    "approval_timeout",
    "echo_human_approved",
    "human_reject",
    "module_error",
    "module_failure",
    "noop_auto_approved",
    "policy_block",
    "timebox_exceeded",
  ]);
  const results = await replay("src/workflows/mod.ts", files);
  assertEquals(results.length, files.length);
  for (const result of results) {
    assertEquals(result.error, null, `${result.workflowId}: ${result.error?.message}`);
  }
});

Deno.test("a non-deterministic change to the loop is caught on replay", async () => {
  const results = await replay("tests/fixtures/nondeterministic/workflows.ts", [
    `${HISTORIES}/echo_human_approved.json`,
  ]);
  assertEquals(results.length, 1);
  assertEquals(results[0]?.error?.name, "DeterminismViolationError");
  assertStringIncludes(results[0]?.error?.message ?? "", "Nondeterminism");
});

Deno.test("loops recorded as directiveWorkflow (with execution children) replay against the current code", async () => {
  // Recorded before the single-workflow loop: loops still open under the
  // earlier type keep running on it after an upgrade.
  const files = await historyFilesIn(`${HISTORIES}/v1`);
  assert(files.length > 10);
  const results = await replay("src/workflows/mod.ts", files);
  assertEquals(results.length, files.length);
  for (const result of results) {
    assertEquals(result.error, null, `${result.workflowId}: ${result.error?.message}`);
  }
});

Deno.test("histories recorded before signed decisions replay against the current code", async () => {
  // Recorded before aborts were verified by the worker: the patch keeps them
  // replaying without the extra activity.
  const files = await historyFilesIn(`${HISTORIES}/pre_signed`);
  assert(files.length > 10);
  const results = await replay("src/workflows/mod.ts", files);
  assertEquals(results.length, files.length);
  for (const result of results) {
    assertEquals(result.error, null, `${result.workflowId}: ${result.error?.message}`);
  }
});
