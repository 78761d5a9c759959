/**
 * Replay: histories recorded from real runs of every path (tests/histories/,
 * written by `KEEL_CAPTURE_HISTORIES=1 deno task test tests/loop_test.ts`)
 * replay against the current workflow code. A deliberately non-deterministic
 * change is caught.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { historyFromJSON } from "@temporalio/common/lib/proto-utils.js";
import { DeterminismViolationError } from "@temporalio/workflow";
import { bundleWorkflowCode, type ReplayWorkerOptions, Worker } from "@temporalio/worker";
import { quietTemporalLogs } from "./_temporal.ts";

const HISTORIES = new URL("./histories/", import.meta.url);
const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

async function recorded(): Promise<{ workflowId: string; history: unknown; file: string }[]> {
  const found = [];
  for await (const entry of Deno.readDir(HISTORIES)) {
    if (!entry.name.endsWith(".json")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, HISTORIES));
    found.push({
      workflowId: entry.name.replace(/\.json$/, ""),
      history: historyFromJSON(JSON.parse(text)),
      file: entry.name,
    });
  }
  return found.sort((a, b) => a.file.localeCompare(b.file));
}

async function replay(
  options: ReplayWorkerOptions,
  histories: { workflowId: string; history: unknown }[],
): Promise<Map<string, Error | undefined>> {
  const results = new Map<string, Error | undefined>();
  for await (
    const result of Worker.runReplayHistories(
      options,
      histories.map(({ workflowId, history }) => ({ workflowId, history: history as never })),
    )
  ) {
    results.set(result.workflowId, result.error);
  }
  return results;
}

Deno.test({
  name: "every recorded path replays against the current workflow code",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    quietTemporalLogs();
    const histories = await recorded();
    const paths = histories.filter((h) => !h.file.includes("_attempt_")).map((h) => h.workflowId);
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
    const bundle = await bundleWorkflowCode({
      workflowsPath: new URL("../src/workflows/mod.ts", import.meta.url).pathname,
      logger: silent,
    });
    const results = await replay({ workflowBundle: bundle }, histories);
    assertEquals(results.size, histories.length);
    for (const [workflowId, error] of results) {
      assertEquals(error, undefined, `${workflowId}: ${error?.message}`);
    }
  },
});

Deno.test({
  name: "a non-deterministic change to the loop is caught on replay",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    quietTemporalLogs();
    const histories = (await recorded()).filter((h) => h.workflowId === "echo_human_approved");
    assertEquals(histories.length, 1);
    const bundle = await bundleWorkflowCode({
      workflowsPath: new URL("./fixtures/nondeterministic/workflows.ts", import.meta.url).pathname,
      logger: silent,
    });
    const results = await replay({ workflowBundle: bundle }, histories);
    const error = results.get("echo_human_approved");
    assert(
      error instanceof DeterminismViolationError,
      `expected a determinism violation, got ${error}`,
    );
    assertStringIncludes(error.message, "Nondeterminism");
  },
});
