import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  createRegistry,
  defineModule,
  echoModule,
  failIntentionallyModule,
  hostPermissions,
  IntentionalFailureError,
  type ModuleContext,
  type ModuleInput,
  ModulePermissionError,
  noopModule,
  SHIPPED_MODULES,
  UnknownModuleError,
} from "./mod.ts";
import { localWorkingMemory } from "../working_memory/mod.ts";

function input(overrides: Partial<ModuleInput> = {}): ModuleInput {
  return {
    runId: "run-1",
    directiveId: "directive-1",
    directiveType: "echo",
    attempt: 1,
    deadline: Date.now() + 60_000,
    payload: { message: "hello" },
    idempotencyKey: "directive-1:attempt:1",
    budget: { amount: "5", currency: "USD" },
    timeboxSeconds: 60,
    constraints: [],
    ...overrides,
  };
}

function context(signal = new AbortController().signal): ModuleContext & { beats: number } {
  const ctx = {
    signal,
    beats: 0,
    heartbeat: () => void ctx.beats++,
    emitArtifact: () => {},
    reportCost: () => {},
    memory: localWorkingMemory(),
  };
  return ctx;
}

Deno.test("the registry selects modules by type and refuses unknown or duplicate types", () => {
  // SHIPPED_MODULES, not BUILTIN_MODULES: a fork's own modules (src/execution/modules/mod.ts)
  // join BUILTIN_MODULES without breaking this test.
  const registry = createRegistry(SHIPPED_MODULES);
  assertEquals(registry.types(), SHIPPED_MODULES.map((module) => module.type).sort());
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

Deno.test("the registry refuses a module that declares what the host does not hold", () => {
  const wide = defineModule({
    type: "wide",
    description: "declares a host",
    entry: import.meta.url,
    permissions: { net: ["api.example.com:443"], env: ["WIDE_TOKEN"] },
    execute: () => Promise.reject(new Error("never run")),
  });
  const held = (granted: string[]) => (descriptor: Deno.PermissionDescriptor) =>
    granted.includes(
      descriptor.name === "net"
        ? `net:${descriptor.host}`
        : descriptor.name === "env"
        ? `env:${descriptor.variable}`
        : descriptor.name,
    );
  assertThrows(
    () => createRegistry([wide], { held: held(["env:WIDE_TOKEN"]) }),
    ModulePermissionError,
    `Refusing to register module "wide": it declares net "api.example.com:443"`,
  );
  assertThrows(
    () => createRegistry([wide], { held: held(["net:api.example.com:443"]) }),
    ModulePermissionError,
    `env "WIDE_TOKEN"`,
  );
  createRegistry([wide], { held: held(["net:api.example.com:443", "env:WIDE_TOKEN"]) });
  // Keel's own modules fit the worker's permission set (this process holds at least that).
  createRegistry(SHIPPED_MODULES, { held: hostPermissions });
});

Deno.test("module declarations: defaults are none, not retry-safe, free", () => {
  const bare = defineModule({
    type: "bare",
    description: "declares nothing",
    entry: import.meta.url,
    execute: () => Promise.reject(new Error("never run")),
  });
  assertEquals(bare.permissions, {});
  assertEquals([bare.retrySafe({}), bare.worstCase({}), bare.targets({})], [false, "0", []]);
  assertEquals(
    SHIPPED_MODULES.filter((module) => module.type !== "http_request").map((module) =>
      module.retrySafe({})
    ),
    [true, true, true, true],
  );
});

Deno.test("echo puts the payload into a JSON artifact", async () => {
  const result = await echoModule.execute(input(), context());
  assertEquals(result.status, "SUCCESS");
  assertEquals(result.artifacts.length, 1);
  const [artifact] = result.artifacts;
  assertEquals([artifact?.kind, artifact?.contentType], ["echo", "application/json"]);
  assertEquals(JSON.parse(new TextDecoder().decode(artifact?.body)), { message: "hello" });
});

Deno.test("noop succeeds; with sleep_ms it heartbeats and honours the signal", async () => {
  const quick = await noopModule.execute(input({ directiveType: "noop", payload: {} }), context());
  assertEquals([quick.status, quick.message], ["SUCCESS", "nothing to do"]);
  const waited = context();
  const slept = await noopModule.execute(
    input({ directiveType: "noop", payload: { sleep_ms: 1200 } }),
    waited,
  );
  assertEquals(slept.result, { slept_ms: 1200 });
  assert(waited.beats >= 2, `heartbeats: ${waited.beats}`);
  const controller = new AbortController();
  const pending = noopModule.execute(
    input({ directiveType: "noop", payload: { sleep_ms: 60_000 } }),
    context(controller.signal),
  );
  controller.abort();
  await assertRejects(() => pending, Error, "canceled while waiting");
});

Deno.test("fail_intentionally returns FAILURE, or throws when asked", async () => {
  const failed = await failIntentionallyModule.execute(
    input({ directiveType: "fail_intentionally", payload: { mode: "failure" } }),
    context(),
  );
  assertEquals(failed.status, "FAILURE");
  await assertRejects(
    () =>
      failIntentionallyModule.execute(
        input({ directiveType: "fail_intentionally", payload: { mode: "error" } }),
        context(),
      ),
    IntentionalFailureError,
  );
});
