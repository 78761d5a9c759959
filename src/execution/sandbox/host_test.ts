import { assert, assertEquals, assertRejects } from "@std/assert";
import { createSandbox, permissionFlags, type SandboxEnding } from "./host.ts";
import { dispatch, DispatchError } from "../dispatch.ts";
import type { ExecutionModule, ModuleInput } from "../module.ts";
import { echoModule } from "../modules/echo.ts";
import {
  emitterModule,
  malformedModule,
  overspendModule,
  snoopModule,
  spinModule,
  yieldingSpinModule,
} from "../../../tests/fixtures/modules/spin.ts";

function input(module: ExecutionModule, overrides: Partial<ModuleInput> = {}): ModuleInput {
  return {
    runId: "run-1",
    directiveId: "directive-1",
    directiveType: module.type,
    attempt: 1,
    payload: {},
    idempotencyKey: "directive-1:attempt:1",
    budget: { amount: "5", currency: "USD" },
    timeboxSeconds: 60,
    deadline: Date.now() + 60_000,
    constraints: [],
    ...overrides,
  };
}

/** A process's CPU time in seconds (user + system), or `null` once it is gone. */
async function cpuSeconds(pid = Deno.pid): Promise<number | null> {
  // Deno refuses /proc/self without full access: another process reads it.
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`], stderr: "null" })
    .output();
  if (!out.success) return null;
  const stat = new TextDecoder().decode(out.stdout);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in ticks of 1/100 s
}

/** CPU seconds this process used over the next `ms`. */
async function cpuOver(ms: number): Promise<number> {
  const before = (await cpuSeconds())!;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await cpuSeconds())! - before;
}

const none = { permissions: {}, reservation: "0" };

Deno.test("a module's process gets only what it was granted: no secrets, files, processes or hosts", async () => {
  const sandbox = createSandbox({ prewarm: false });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("hi"),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    Deno.env.set("KEEL_SNOOP_ALLOWED", "yes");
    const denied = await sandbox.run(snoopModule, input(snoopModule, { payload: { url } }), {
      permissions: { env: ["KEEL_SNOOP_ALLOWED"] },
      reservation: "0",
    });
    assert(denied.kind === "result", JSON.stringify(denied));
    assertEquals(denied.result.result, {
      "env DATABASE_URL": "NotCapable",
      "env KEEL_SNOOP_ALLOWED": "allowed",
      "read deno.json": "NotCapable",
      "write /tmp": "NotCapable",
      "run": "NotCapable",
      "net": "NotCapable",
      "sys": "NotCapable",
    });
    const granted = await sandbox.run(snoopModule, input(snoopModule, { payload: { url } }), {
      permissions: { net: [`127.0.0.1:${server.addr.port}`] },
      reservation: "0",
    });
    assert(granted.kind === "result");
    const tries = granted.result.result as Record<string, string>;
    assertEquals([tries.net, tries["env KEEL_SNOOP_ALLOWED"]], ["allowed", "NotCapable"]);
  } finally {
    Deno.env.delete("KEEL_SNOOP_ALLOWED");
    await server.shutdown();
    await sandbox.close();
  }
});

Deno.test("permissionFlags grants only what is listed", () => {
  assertEquals(permissionFlags({}), []);
  assertEquals(permissionFlags({ net: ["a:1", "b"], env: [], read: ["/x"] }), [
    "--allow-net=a:1,b",
    "--allow-read=/x",
  ]);
});

Deno.test("a busy loop that ignores every signal is killed at its deadline, and no CPU is used after", async () => {
  const sandbox = createSandbox({ prewarm: false });
  try {
    let pid = 0;
    let spinning = 0;
    let sampling = true;
    // Samples the module's CPU time until it is gone: the last sample is what it used.
    const sampler = (async () => {
      while (sampling) {
        if (pid) spinning = (await cpuSeconds(pid)) ?? spinning;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const ending = await sandbox.run(
      spinModule,
      input(spinModule, { timeboxSeconds: 2, deadline: Date.now() + 2000 }),
      { ...none, onStart: (started) => pid = started },
    );
    sampling = false;
    await sampler;
    assertEquals(ending.kind, "timebox");
    const overshoot = ending.durationMs - 2000;
    assert(overshoot <= 1000, `killed ${overshoot} ms after the deadline`);
    assert(spinning >= 0.3, `the module used ${spinning} s of CPU: a blind measure`);
    assertEquals(await cpuSeconds(pid), null, "the module's process outlived its ending");
    const after = await cpuOver(1000);
    console.log(
      `timebox overshoot ${overshoot} ms; module CPU ${spinning.toFixed(2)} s before the kill; ` +
        `worker CPU ${after.toFixed(2)} s in the 1 s after it`,
    );
    assert(after < 0.5, `CPU kept growing after the kill: ${after} s in 1 s`);
  } finally {
    await sandbox.close();
  }
});

Deno.test("an abort kills a busy loop, and no CPU is used after", async () => {
  const sandbox = createSandbox({ prewarm: false });
  try {
    const controller = new AbortController();
    let pid = 0;
    const ending = await sandbox.run(spinModule, input(spinModule), {
      ...none,
      signal: controller.signal,
      onStart: (started) => {
        pid = started;
        setTimeout(() => controller.abort(), 500);
      },
    });
    assertEquals(ending.kind, "aborted");
    assertEquals(await cpuSeconds(pid), null, "the module's process outlived the abort");
    const after = await cpuOver(1000);
    console.log(
      `abort: killed after ${ending.durationMs} ms; worker CPU after: ${after.toFixed(2)} s`,
    );
    assert(after < 0.5, `CPU kept growing after the abort: ${after} s in 1 s`);
  } finally {
    await sandbox.close();
  }
});

Deno.test("liveness is the module's: a blocked module is killed as unresponsive, a busy but yielding one is not", async () => {
  const sandbox = createSandbox({ prewarm: false, pingIntervalMs: 200, livenessTimeoutMs: 2000 });
  try {
    const blocked = await sandbox.run(spinModule, input(spinModule), none);
    assertEquals(blocked.kind, "unresponsive");
    let beats = 0;
    const alive = await sandbox.run(
      yieldingSpinModule,
      input(yieldingSpinModule, { payload: { spin_ms: 3000 } }),
      { ...none, onAlive: () => beats++ },
    );
    assertEquals(alive.kind, "result");
    assert(beats >= 3, `only ${beats} signs of life in 3 s`);
  } finally {
    await sandbox.close();
  }
});

Deno.test("a host that stalls is not a module that stops answering: the run ends with its result", async () => {
  const sandbox = createSandbox({ prewarm: false, pingIntervalMs: 200, livenessTimeoutMs: 2000 });
  try {
    let stalled = false;
    const ending = await sandbox.run(
      yieldingSpinModule,
      input(yieldingSpinModule, { payload: { spin_ms: 4000 } }),
      {
        ...none,
        onAlive: () => {
          if (stalled) return;
          stalled = true;
          // The host's own event loop is blocked for longer than the liveness timeout.
          const until = performance.now() + 3000;
          while (performance.now() < until) { /* the host is busy */ }
        },
      },
    );
    assert(stalled, "the module answered at least once");
    assertEquals(ending.kind, "result");
  } finally {
    await sandbox.close();
  }
});

Deno.test("a module that reports more than its reservation is killed at once", async () => {
  const sandbox = createSandbox({ prewarm: false });
  try {
    const ending = await sandbox.run(overspendModule, input(overspendModule), {
      permissions: {},
      reservation: "1",
    });
    assertEquals(ending.kind, "overspent");
    assertEquals((ending as Extract<SandboxEnding, { kind: "overspent" }>).reported, "5");
  } finally {
    await sandbox.close();
  }
});

Deno.test("emitted artifacts and heartbeat details reach the host", async () => {
  const sandbox = createSandbox();
  try {
    const details: unknown[] = [];
    const ending = await sandbox.run(emitterModule, input(emitterModule), {
      ...none,
      onAlive: (detail) => detail !== undefined && details.push(detail),
    });
    assert(ending.kind === "result");
    assertEquals(ending.result.artifacts.map((a) => a.kind), ["early", "late"]);
    assertEquals(details, [{ step: 1 }]);
  } finally {
    await sandbox.close();
  }
});

Deno.test("dispatch refuses a call without an idempotency key or for another type, and a malformed result", async () => {
  const sandbox = createSandbox({ prewarm: false });
  try {
    await assertRejects(
      () => dispatch(sandbox, echoModule, input(echoModule, { idempotencyKey: "" }), none),
      DispatchError,
      "no idempotency key",
    );
    await assertRejects(
      () => dispatch(sandbox, echoModule, input(echoModule, { directiveType: "noop" }), none),
      DispatchError,
      `for a directive of type "noop"`,
    );
    const ending = await dispatch(sandbox, malformedModule, input(malformedModule), none);
    assert(ending.kind === "error");
    assert(ending.message.includes("malformed result"), ending.message);
    assert(ending.message.includes("status"), ending.message);
  } finally {
    await sandbox.close();
  }
});

Deno.test("a module file that cannot load ends the run with an error, not a hang", async () => {
  const sandbox = createSandbox({ prewarm: false });
  try {
    const broken = { ...echoModule, entry: new URL("./no_such_module.ts", import.meta.url).href };
    const ending = await sandbox.run(broken, input(broken), none);
    assertEquals(ending.kind, "error");
  } finally {
    await sandbox.close();
  }
});
