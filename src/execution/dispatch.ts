import { z } from "zod";
import { DECIMAL_PATTERN } from "../models/mod.ts";
import type { DispatchResult, ExecutionModule, ModuleContext, ModuleInput } from "./module.ts";

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
 * Calls a module and measures how long it ran. Refuses a call without an
 * idempotency key: every module call must be safe to repeat, and the key is
 * how a module makes it so. A malformed result is refused too.
 */
export async function dispatch(
  module: ExecutionModule,
  input: ModuleInput,
  context: ModuleContext,
): Promise<DispatchResult> {
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
  const started = performance.now();
  const output = await module.execute(input, context);
  const durationMs = Math.round(performance.now() - started);
  const checked = ModuleResultSchema.safeParse(output);
  if (!checked.success) {
    throw new DispatchError(
      `Module "${module.type}" returned a malformed result for run "${input.runId}": ${
        checked.error.issues.map((i) => `${i.path.join(".") || "(result)"}: ${i.message}`).join(
          "; ",
        )
      }`,
      { cause: checked.error },
    );
  }
  return { ...output, durationMs };
}
