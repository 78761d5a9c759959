import { defineModule } from "../define.ts";

/** Thrown by `fail_intentionally` when the payload asks for an error. */
export class IntentionalFailureError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IntentionalFailureError";
  }
}

/** The most failed attempts `{"mode": "recover"}` may ask for. */
export const RECOVER_MAX_FAILURES = 10;

function failuresOf(payload: Readonly<Record<string, unknown>>): number {
  const value = payload.failures;
  return typeof value === "number" && Number.isInteger(value) && value >= 1
    ? Math.min(value, RECOVER_MAX_FAILURES)
    : 1;
}

/**
 * Fails on purpose, for testing the unhappy paths: `{"mode": "error"}` throws;
 * `{"mode": "recover", "failures": N}` (N from 1, default 1) throws on its
 * first N attempts and then succeeds, counting its failures in the
 * directive's working memory (`failed_attempts`), which is how a later
 * attempt knows what the earlier ones did; anything else returns FAILURE.
 */
export const failIntentionallyModule = defineModule({
  type: "fail_intentionally",
  entry: import.meta.url,
  retrySafe: true,
  description:
    'returns FAILURE; throws for {"mode": "error"}; {"mode": "recover"} throws until it has failed "failures" times (working memory counts them), then succeeds',
  async execute(input, context) {
    if (input.payload.mode === "error") {
      throw new IntentionalFailureError("fail_intentionally was asked to throw");
    }
    if (input.payload.mode === "recover") {
      const wanted = failuresOf(input.payload);
      const failed = Number(await context.memory.get("failed_attempts") ?? 0);
      if (failed < wanted) {
        await context.memory.set("failed_attempts", failed + 1);
        throw new IntentionalFailureError(
          `fail_intentionally failed attempt ${input.attempt} on purpose (failure ${
            failed + 1
          } of ${wanted})`,
        );
      }
      await context.memory.set("recovered_at_attempt", input.attempt);
      return {
        status: "SUCCESS",
        result: { failed_attempts: failed },
        message:
          `fail_intentionally recovered at attempt ${input.attempt} after ${failed} failure(s) counted in working memory`,
        artifacts: [],
        budgetConsumed: "0",
      };
    }
    return {
      status: "FAILURE",
      result: null,
      message: "fail_intentionally returned FAILURE as asked",
      artifacts: [],
      budgetConsumed: "0",
    };
  },
});
