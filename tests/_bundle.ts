/**
 * The prebuilt workflow bundle for tests: built once per test process when it
 * is missing or stale (as `deno task bundle` does), before any worker starts.
 */
import { createLogger } from "../src/telemetry/log.ts";
import { ensureWorkflowBundle } from "../src/workflow_bundle/build.ts";

let ready: Promise<unknown> | undefined;

/** Resolves once `.data/workflow-bundle/` holds a fresh bundle. */
export async function prebuiltBundle(): Promise<void> {
  ready ??= ensureWorkflowBundle(createLogger({ level: "warn", service: "test-bundle" }));
  await ready;
}
