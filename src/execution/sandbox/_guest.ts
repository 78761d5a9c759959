/**
 * The module side of the sandbox: serves one run of one module in a process
 * of its own, answering liveness checks while it runs. Active only when the
 * module's file is run with {@linkcode sandboxArgument}; a no-op everywhere
 * else (for example when the worker imports the module to register it).
 *
 * @module
 */
import type { ArtifactDraft, ExecutionModule, ModuleContext, WorkingMemory } from "../module.ts";
import {
  type GuestMessage,
  type HostMessage,
  type MemoryReply,
  type MemoryRequest,
  MESSAGE_MARK,
  sandboxArgument,
  toBase64,
  type WireArtifact,
} from "./_protocol.ts";

const encoder = new TextEncoder();

function post(message: GuestMessage): void {
  const line = encoder.encode(`${MESSAGE_MARK}${JSON.stringify(message)}\n`);
  let written = 0;
  while (written < line.length) written += Deno.stdout.writeSync(line.subarray(written));
}

function wire(draft: ArtifactDraft): WireArtifact {
  return { kind: draft.kind, contentType: draft.contentType, body: toBase64(draft.body) };
}

function failure(error: unknown): GuestMessage {
  return {
    kind: "error",
    name: error instanceof Error ? error.name : "Error",
    message: error instanceof Error ? error.message : String(error),
  };
}

const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
let lastRequest = 0;

function ask(op: MemoryRequest["op"], key?: string, value?: unknown): Promise<unknown> {
  const id = ++lastRequest;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    post({
      kind: "memory",
      id,
      op,
      ...(key === undefined ? {} : { key }),
      ...(value === undefined ? {} : { value }),
    });
  });
}

function settle(reply: MemoryReply): void {
  const call = waiting.get(reply.id);
  if (!call) return;
  waiting.delete(reply.id);
  if (reply.ok) return call.resolve(reply.value);
  const error = new Error(reply.message);
  error.name = reply.name;
  call.reject(error);
}

/** `context.memory`: each call is a request the host answers. */
const memory: WorkingMemory = {
  get: (key) => ask("get", key),
  set: (key, value) =>
    value === undefined
      ? Promise.reject(
        new TypeError(`Refusing to set working-memory key "${key}" to undefined: use delete`),
      )
      : ask("set", key, value).then(() => {}),
  delete: (key) => ask("delete", key).then(() => {}),
  keys: () => ask("keys") as Promise<string[]>,
};

async function serve(module: ExecutionModule): Promise<void> {
  let started = false;
  post({ kind: "ready" });
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffer = "";
  // The host holds stdin open for as long as it lives; when it closes, the
  // host is gone (the worker crashed or was killed) and so is this run.
  for await (const chunk of lines) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const message = JSON.parse(buffer.slice(0, newline)) as HostMessage;
      buffer = buffer.slice(newline + 1);
      if (message.kind === "ping") post({ kind: "pong", seq: message.seq });
      else if (message.kind === "memory_reply") settle(message);
      else if (message.kind === "run" && !started) {
        started = true;
        run(module, message.input);
      }
    }
  }
  Deno.exit(HOST_GONE_EXIT_CODE);
}

/** The exit code of a module process whose host went away. */
const HOST_GONE_EXIT_CODE = 70;

function run(module: ExecutionModule, input: Parameters<ExecutionModule["execute"]>[0]): void {
  const controller = new AbortController();
  setTimeout(
    () => controller.abort(new Error("the deadline passed")),
    Math.max(0, input.deadline - Date.now()),
  );
  const context: ModuleContext = {
    signal: controller.signal,
    heartbeat: (details) => post({ kind: "heartbeat", details }),
    emitArtifact: (draft) => post({ kind: "artifact", draft: wire(draft) }),
    reportCost: (amount) => post({ kind: "cost", amount }),
    memory,
  };
  Promise.resolve()
    .then(() => module.execute(input, context))
    .then((result) => {
      const artifacts = Array.isArray(result?.artifacts)
        ? result.artifacts.map(wire)
        : result?.artifacts;
      post({ kind: "result", result: { ...result, artifacts } });
    })
    .catch((error) => post(failure(error)));
}

/**
 * Starts serving `module` when this process was started by the sandbox host
 * for it (recognised by its argument); does nothing anywhere else.
 */
export function serveIfSandboxed(module: ExecutionModule): void {
  if (!Deno.args.includes(sandboxArgument(module.type))) return;
  serve(module).catch((error) => post(failure(error)));
}
