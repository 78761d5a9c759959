import { defineModule } from "../define.ts";

/** Thrown by `fail_intentionally` when the payload asks for an error. */
export class IntentionalFailureError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IntentionalFailureError";
  }
}

/**
 * Fails on purpose, for testing the unhappy paths: `{"mode": "error"}` throws,
 * anything else returns FAILURE.
 */
export const failIntentionallyModule = defineModule({
  type: "fail_intentionally",
  entry: import.meta.url,
  retrySafe: true,
  description: 'returns FAILURE, or throws when the payload says {"mode": "error"}',
  execute(input) {
    if (input.payload.mode === "error") {
      return Promise.reject(new IntentionalFailureError("fail_intentionally was asked to throw"));
    }
    return Promise.resolve({
      status: "FAILURE",
      result: null,
      message: "fail_intentionally returned FAILURE as asked",
      artifacts: [],
      budgetConsumed: "0",
    });
  },
});
