/**
 * The host side of the sandbox: runs one module call in a Deno process of its
 * own, started with exactly the permissions granted to the run (and an empty
 * environment but for the names granted), and ends it with SIGKILL — at the
 * deadline, on abort, when the process stops answering liveness checks, or
 * when the module reports spending more than was reserved. The call's ending
 * is returned only once the process has exited, so nothing the module does
 * outlives it.
 *
 * A process rather than a Web Worker: on Deno 2.9.6 `Worker.terminate()`
 * does not stop a Worker that busy-loops (its thread kept one core busy after
 * terminate; see docs/decisions/0006_module_sandbox_process.md).
 *
 * @module
 */
import { compareDecimals, DECIMAL_PATTERN } from "../../models/mod.ts";
import type { ArtifactDraft, ExecutionModule, ModuleInput, ModulePermissions } from "../module.ts";
import type { ModuleResult, WorkingMemory } from "../module.ts";
import { memoryAnswerer } from "./_memory.ts";
import {
  fromBase64,
  type GuestMessage,
  type HostMessage,
  MESSAGE_MARK,
  sandboxArgument,
  type WireArtifact,
} from "./_protocol.ts";

/** How a sandboxed call ended. Every ending but `result` killed the process early. */
export type SandboxEnding =
  | { readonly kind: "result"; readonly result: ModuleResult; readonly durationMs: number }
  | {
    readonly kind: "error";
    readonly name: string;
    readonly message: string;
    readonly durationMs: number;
  }
  | { readonly kind: "timebox"; readonly durationMs: number }
  | { readonly kind: "aborted"; readonly durationMs: number }
  | { readonly kind: "unresponsive"; readonly silentMs: number; readonly durationMs: number }
  | { readonly kind: "overspent"; readonly reported: string; readonly durationMs: number }
  /** `beforeRun` said no: the process was killed before it was given the input. */
  | { readonly kind: "declined"; readonly durationMs: number };

/** What one sandboxed call is allowed and told. */
export interface SandboxRunOptions {
  /** The permissions the process gets (already narrowed to the module's declaration). */
  readonly permissions: ModulePermissions;
  /** The most the module may report spending, a decimal. */
  readonly reservation: string;
  /** Aborts the call (the process is killed). */
  readonly signal?: AbortSignal;
  /** Called whenever the module shows it is alive, with its heartbeat details if any. */
  readonly onAlive?: (details?: unknown) => void;
  /** Called with the module process's id once the run is handed to it. */
  readonly onStart?: (pid: number) => void;
  /**
   * Called once the module's process has loaded, before it is given the
   * input; `false` ends the run as `declined` with nothing started. Where the
   * caller claims the run, so that a run is marked started only when its
   * module is about to be.
   */
  readonly beforeRun?: () => Promise<boolean>;
  /** Called every ping interval while the process is still loading (the run's host is alive). */
  readonly onStarting?: () => void;
  /** What the module's `context.memory` calls reach; without it they are refused. */
  readonly workingMemory?: WorkingMemory;
}

/** Tuning for {@linkcode createSandbox}. */
export interface SandboxOptions {
  /** Milliseconds between liveness checks (default 1000). */
  readonly pingIntervalMs?: number;
  /** Milliseconds of silence after which the module is killed as unresponsive (default 5000). */
  readonly livenessTimeoutMs?: number;
  /** Milliseconds a module's process may take to load before the run fails (default 60000). */
  readonly startTimeoutMs?: number;
  /** Keep one started process ready per module and permission set (default true). */
  readonly prewarm?: boolean;
  /** The Deno executable to start (default `deno`, found on PATH). */
  readonly deno?: string;
  /**
   * The environment every module process starts with (for Deno itself, e.g.
   * `HOME`, `DENO_DIR`); a module's declared env names are added from `lookupEnv`.
   */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Looks up the value of a variable a module declared. */
  readonly lookupEnv?: (name: string) => string | undefined;
}

/** Runs module calls in processes; see {@linkcode createSandbox}. */
export interface Sandbox {
  /** Runs one call; resolves only after the module's process has exited. */
  run(
    module: ExecutionModule,
    input: ModuleInput,
    options: SandboxRunOptions,
  ): Promise<SandboxEnding>;
  /** Kills the processes kept ready. */
  close(): Promise<void>;
}

/** The `deno run` permission flags for a module's permission set: all else denied. */
export function permissionFlags(permissions: ModulePermissions): string[] {
  const flags: string[] = [];
  const add = (flag: string, items: readonly string[] | undefined) => {
    if (items && items.length > 0) flags.push(`--allow-${flag}=${items.join(",")}`);
  };
  add("net", permissions.net);
  add("read", permissions.read);
  add("write", permissions.write);
  add("env", permissions.env);
  return flags;
}

interface Handlers {
  onMessage?: (message: GuestMessage) => void;
  /** Any output at all: a large message still arriving is a sign of life. */
  onData?: () => void;
  onExit?: (status: Deno.CommandStatus, stderr: string) => void;
}

interface Started {
  readonly child: Deno.ChildProcess;
  readonly send: (message: HostMessage) => void;
  /** Resolves when the module has loaded and said so; rejects if the process exits first. */
  readonly ready: Promise<void>;
  readonly handlers: Handlers;
}

const TAIL_BYTES = 2000;

async function pump(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  onData: () => void = () => {},
): Promise<void> {
  // Chunks are kept apart until a newline arrives, so a large message is
  // scanned once, not once per chunk.
  let parts: string[] = [];
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    onData();
    let rest = chunk;
    let newline;
    while ((newline = rest.indexOf("\n")) >= 0) {
      parts.push(rest.slice(0, newline));
      onLine(parts.join(""));
      parts = [];
      rest = rest.slice(newline + 1);
    }
    if (rest) parts.push(rest);
  }
  if (parts.length > 0) onLine(parts.join(""));
}

function wireDraft(draft: WireArtifact): ArtifactDraft {
  return { kind: draft.kind, contentType: draft.contentType, body: fromBase64(draft.body) };
}

/**
 * Creates a sandbox. With `prewarm` (the default) it keeps one loaded
 * process per module and permission set, so a run does not wait for Deno to
 * start; a process serves one run and is then killed, never reused.
 */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const pingInterval = options.pingIntervalMs ?? 1000;
  const livenessTimeout = options.livenessTimeoutMs ?? 5000;
  const prewarm = options.prewarm ?? true;
  const startTimeout = options.startTimeoutMs ?? 60_000;
  const warm = new Map<string, Started>();
  let closed = false;

  function start(module: ExecutionModule, permissions: ModulePermissions): Started {
    const env: Record<string, string> = { NO_COLOR: "1", ...options.baseEnv };
    for (const name of permissions.env ?? []) {
      const value = options.lookupEnv?.(name);
      if (value !== undefined) env[name] = value;
    }
    const child = new Deno.Command(options.deno ?? "deno", {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--no-check",
        "--frozen",
        ...permissionFlags(permissions),
        decodeURIComponent(new URL(module.entry).pathname),
        sandboxArgument(module.type),
      ],
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    const encoder = new TextEncoder();
    const send = (message: HostMessage) => {
      writer.write(encoder.encode(`${JSON.stringify(message)}\n`)).catch(() => {});
    };
    const handlers: Handlers = {};
    let stderr = "";
    let isReady = false;
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => markReady = resolve);
    const stdoutDone = pump(child.stdout, (line) => {
      if (!line.startsWith(MESSAGE_MARK)) return; // the module's own output
      let message: GuestMessage;
      try {
        message = JSON.parse(line.slice(MESSAGE_MARK.length));
      } catch {
        return;
      }
      if (!isReady && message.kind === "ready") {
        isReady = true;
        return markReady();
      }
      handlers.onMessage?.(message);
    }, () => handlers.onData?.()).catch(() => {});
    const stderrDone = pump(child.stderr, (line) => {
      stderr = `${stderr}${line}\n`.slice(-TAIL_BYTES);
    }).catch(() => {});
    child.status.then(async (status) => {
      await Promise.all([stdoutDone, stderrDone]);
      handlers.onExit?.(status, stderr.trim());
    });
    return { child, send, ready, handlers };
  }

  function keyOf(module: ExecutionModule, permissions: ModulePermissions): string {
    return JSON.stringify([module.entry, module.type, permissionFlags(permissions)]);
  }

  function take(module: ExecutionModule, permissions: ModulePermissions): Started {
    const key = keyOf(module, permissions);
    const ready = warm.get(key);
    warm.delete(key);
    return ready ?? start(module, permissions);
  }

  function refill(module: ExecutionModule, permissions: ModulePermissions): void {
    const key = keyOf(module, permissions);
    if (prewarm && !closed && !warm.has(key)) {
      const started = start(module, permissions);
      warm.set(key, started);
      // A ready process that dies while idle is forgotten, not handed out.
      started.handlers.onExit = () => {
        if (warm.get(key) === started) warm.delete(key);
      };
    }
  }

  async function run(
    module: ExecutionModule,
    input: ModuleInput,
    runOptions: SandboxRunOptions,
  ): Promise<SandboxEnding> {
    const began = performance.now();
    const elapsed = () => Math.round(performance.now() - began);
    const started = take(module, runOptions.permissions);
    const { child } = started;
    const emitted: ArtifactDraft[] = [];
    let lastSign = performance.now();
    let ending: SandboxEnding | undefined;
    const exited = new Promise<void>((resolve) => {
      started.handlers.onExit = (status, stderr) => {
        finish({
          kind: "error",
          name: "ModuleProcessExited",
          message: `the module's process exited (${
            status.signal ? `signal ${status.signal}` : `code ${status.code}`
          }) before reporting${stderr ? `: ${stderr.slice(-500)}` : ""}`,
          durationMs: elapsed(),
        });
        resolve();
      };
    });
    const finish = (next: SandboxEnding) => {
      if (ending) return;
      ending = next;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    };
    const onAbort = () => finish({ kind: "aborted", durationMs: elapsed() });
    runOptions.signal?.addEventListener("abort", onAbort, { once: true });
    if (runOptions.signal?.aborted) onAbort();
    const deadline = setTimeout(
      () => finish({ kind: "timebox", durationMs: elapsed() }),
      Math.max(0, input.deadline - Date.now()),
    );
    started.handlers.onData = () => lastSign = performance.now();
    // A reply after the ending would go to a process being killed: dropped.
    const answerMemory = memoryAnswerer(runOptions.workingMemory, (reply) => {
      if (!ending) started.send(reply);
    });
    started.handlers.onMessage = (message) => {
      lastSign = performance.now();
      try {
        receive(message);
      } catch (error) {
        finish({
          kind: "error",
          name: "SandboxProtocolError",
          message: `the module sent a malformed ${message.kind} message: ${
            (error as Error).message
          }`,
          durationMs: elapsed(),
        });
      }
    };
    const receive = (message: GuestMessage) => {
      switch (message.kind) {
        case "pong":
          return runOptions.onAlive?.();
        case "heartbeat":
          return runOptions.onAlive?.(message.details);
        case "artifact":
          emitted.push(wireDraft(message.draft));
          return;
        case "memory":
          return answerMemory(message);
        case "cost":
          if (
            typeof message.amount !== "string" || !DECIMAL_PATTERN.test(message.amount) ||
            compareDecimals(message.amount, runOptions.reservation) > 0
          ) {
            finish({ kind: "overspent", reported: String(message.amount), durationMs: elapsed() });
          }
          return;
        case "result": {
          const result = message.result;
          const artifacts = Array.isArray(result.artifacts)
            ? [...emitted, ...(result.artifacts as WireArtifact[]).map(wireDraft)]
            : result.artifacts;
          return finish({
            kind: "result",
            result: { ...result, artifacts } as unknown as ModuleResult,
            durationMs: elapsed(),
          });
        }
        case "error":
          return finish({
            kind: "error",
            name: String(message.name),
            message: String(message.message),
            durationMs: elapsed(),
          });
      }
    };
    let seq = 0;
    let running = false;
    let lastTick = performance.now();
    const ping = setInterval(() => {
      // A tick that comes late means this process itself was not running (a
      // busy event loop, a starved CPU): it sent no ping and read no answer in
      // that time, so the silence says nothing about the module. Its clock
      // starts again, and only silence while the host ran on time counts.
      const now = performance.now();
      if (now - lastTick > pingInterval * 3) lastSign = Math.max(lastSign, now - pingInterval);
      lastTick = now;
      if (!running) {
        runOptions.onStarting?.();
        if (elapsed() > startTimeout) {
          finish({
            kind: "error",
            name: "ModuleStartTimeout",
            message: `the module's process did not start within ${startTimeout} ms`,
            durationMs: elapsed(),
          });
        }
        return;
      }
      const silent = now - lastSign;
      if (silent > livenessTimeout) {
        finish({ kind: "unresponsive", silentMs: Math.round(silent), durationMs: elapsed() });
      } else {
        started.send({ kind: "ping", seq: ++seq });
      }
    }, pingInterval);
    try {
      await Promise.race([started.ready, exited]);
      if (!ending && runOptions.beforeRun) {
        let go = false;
        try {
          go = await runOptions.beforeRun();
        } finally {
          if (!go) {
            finish({ kind: "declined", durationMs: elapsed() });
            await exited;
          }
        }
      }
      if (!ending) {
        running = true;
        lastSign = performance.now();
        started.send({ kind: "run", input });
        runOptions.onStart?.(child.pid);
      }
      await exited;
    } finally {
      clearInterval(ping);
      clearTimeout(deadline);
      runOptions.signal?.removeEventListener("abort", onAbort);
      // Starting a process costs tens of milliseconds: do it after the
      // caller has its ending, not before.
      setTimeout(() => refill(module, runOptions.permissions), 0);
    }
    return ending!;
  }

  return {
    run,
    async close() {
      closed = true;
      const ready = [...warm.values()];
      warm.clear();
      for (const started of ready) {
        try {
          started.child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      await Promise.all(ready.map((started) => started.child.status));
    },
  };
}
