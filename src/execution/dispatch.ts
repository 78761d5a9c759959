import { z } from "zod";
import { DECIMAL_PATTERN } from "../models/mod.ts";
import type { ExecutionModule, ModuleInput } from "./module.ts";
import type { Sandbox, SandboxEnding, SandboxRunOptions } from "./sandbox/host.ts";

const ModuleResultSchema = z.strictObject({
  status: z.enum(["SUCCESS", "FAILURE", "ERROR"]),
  result: z.unknown(),
  message: z.string().max(4000),
  artifacts: z.array(z.strictObject({
    kind: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/),
    contentType: z.string().min(1).max(200),
    body: z.instanceof(Uint8Array),
  })).max(100),
  budgetConsumed: z.string().regex(DECIMAL_PATTERN),
});

/** Thrown when a module call is refused before it is made. */
export class DispatchError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DispatchError";
  }
}

/**
 * Calls a module in its sandbox. Refuses a call without an idempotency key
 * (the key is how a module makes a repeat harmless downstream) or for another
 * directive type. A result that is not a well-formed {@linkcode ModuleResult}
 * becomes an `error` ending naming each bad field.
 *
 * @throws {DispatchError} when the call is refused; nothing was started.
 */
export async function dispatch(
  sandbox: Sandbox,
  module: ExecutionModule,
  input: ModuleInput,
  options: SandboxRunOptions,
): Promise<SandboxEnding> {
  if (typeof input.idempotencyKey !== "string" || input.idempotencyKey.trim() === "") {
    throw new DispatchError(
      `Refusing to run module "${module.type}" for run "${input.runId}": no idempotency key`,
    );
  }
  if (input.directiveType !== module.type) {
    throw new DispatchError(
      `Refusing to run module "${module.type}" for a directive of type "${input.directiveType}"`,
    );
  }
  const ending = await sandbox.run(module, input, options);
  if (ending.kind !== "result") return ending;
  const checked = ModuleResultSchema.safeParse(ending.result);
  if (checked.success) return ending;
  return {
    kind: "error",
    name: "DispatchError",
    message: `Module "${module.type}" returned a malformed result for run "${input.runId}": ${
      checked.error.issues.map((i) => `${i.path.join(".") || "(result)"}: ${i.message}`).join("; ")
    }`,
    durationMs: ending.durationMs,
  };
}
