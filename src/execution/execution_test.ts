import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  createRegistry,
  dispatch,
  DispatchError,
  echoModule,
  type ExecutionModule,
  failIntentionallyModule,
  IntentionalFailureError,
  type ModuleContext,
  type ModuleInput,
  noopModule,
  SHIPPED_MODULES,
  UnknownModuleError,
  withinBudget,
} from "./mod.ts";

function input(overrides: Partial<ModuleInput> = {}): ModuleInput {
  return {
    runId: "run-1",
    directiveId: "directive-1",
    directiveType: "echo",
    payload: { message: "hello" },
    idempotencyKey: "directive-1:attempt:1",
    budget: { amount: "5", currency: "USD" },
    timeboxSeconds: 60,
    constraints: [],
    ...overrides,
  };
}

function context(signal = new AbortController().signal): ModuleContext & { beats: number } {
  const ctx = { signal, beats: 0, heartbeat: () => ctx.beats++ };
  return ctx;
}

Deno.test("the registry selects modules by type and refuses unknown or duplicate types", () => {
  // SHIPPED_MODULES, not BUILTIN_MODULES: a fork's own modules (src/execution/modules/mod.ts)
  // join BUILTIN_MODULES without breaking this test.
  const registry = createRegistry(SHIPPED_MODULES);
  assertEquals(registry.types(), ["echo", "fail_intentionally", "noop"]);
  assertEquals(registry.get("echo"), echoModule);
  assertThrows(
    () => registry.get("launch"),
    UnknownModuleError,
    `No execution module serves type "launch"`,
  );
  assertThrows(() => createRegistry([noopModule, noopModule]), TypeError, "Two execution modules");
  assertThrows(
    () => createRegistry([{ ...noopModule, type: "Bad-Type" }]),
    TypeError,
    "not snake_case",
  );
});

Deno.test("dispatch refuses a call without an idempotency key or for another type", async () => {
  await assertRejects(
    () => dispatch(echoModule, input({ idempotencyKey: "" }), context()),
    DispatchError,
    "no idempotency key",
  );
  await assertRejects(
    () =>
      dispatch(echoModule, input({ idempotencyKey: undefined as unknown as string }), context()),
    DispatchError,
    "no idempotency key",
  );
  await assertRejects(
    () => dispatch(echoModule, input({ directiveType: "noop" }), context()),
    DispatchError,
    `for a directive of type "noop"`,
  );
});

Deno.test("dispatch refuses a malformed module result", async () => {
  const sloppy: ExecutionModule = {
    type: "echo",
    description: "returns garbage",
    execute: () => Promise.resolve({ status: "DONE" } as never),
  };
  await assertRejects(
    () => dispatch(sloppy, input(), context()),
    DispatchError,
    "malformed result",
  );
});

Deno.test("echo puts the payload into a JSON artifact", async () => {
  const result = await dispatch(echoModule, input(), context());
  assertEquals(result.status, "SUCCESS");
  assertEquals(result.artifacts.length, 1);
  const [artifact] = result.artifacts;
  assertEquals([artifact?.kind, artifact?.contentType], ["echo", "application/json"]);
  assertEquals(JSON.parse(new TextDecoder().decode(artifact?.body)), { message: "hello" });
});

Deno.test("noop succeeds; with sleep_ms it heartbeats and honours cancellation", async () => {
  const quick = await dispatch(
    noopModule,
    input({ directiveType: "noop", payload: {} }),
    context(),
  );
  assertEquals([quick.status, quick.message], ["SUCCESS", "nothing to do"]);
  const waited = context();
  const slept = await dispatch(
    noopModule,
    input({ directiveType: "noop", payload: { sleep_ms: 1200 } }),
    waited,
  );
  assertEquals(slept.result, { slept_ms: 1200 });
  assert(Number.isInteger(slept.durationMs) && slept.durationMs >= 1200, `${slept.durationMs}`);
  assert(waited.beats >= 2, `heartbeats: ${waited.beats}`);
  const controller = new AbortController();
  const pending = dispatch(
    noopModule,
    input({ directiveType: "noop", payload: { sleep_ms: 60_000 } }),
    context(controller.signal),
  );
  controller.abort();
  await assertRejects(() => pending, Error, "canceled while waiting");
});

Deno.test("fail_intentionally returns FAILURE, or throws when asked", async () => {
  const failed = await dispatch(
    failIntentionallyModule,
    input({ directiveType: "fail_intentionally", payload: { mode: "failure" } }),
    context(),
  );
  assertEquals(failed.status, "FAILURE");
  await assertRejects(
    () =>
      dispatch(
        failIntentionallyModule,
        input({ directiveType: "fail_intentionally", payload: { mode: "error" } }),
        context(),
      ),
    IntentionalFailureError,
  );
});

Deno.test("budget checks compare exact decimals", () => {
  const spent = (budgetConsumed: string) => ({
    status: "SUCCESS" as const,
    result: null,
    message: "",
    artifacts: [],
    budgetConsumed,
  });
  assert(withinBudget(spent("5"), "5.0000"));
  assert(withinBudget(spent("4.9999"), "5"));
  assert(!withinBudget(spent("5.0001"), "5"));
  assert(!withinBudget(spent("10"), "9.99"));
  assert(withinBudget(spent("0.1"), "0.10"));
});
