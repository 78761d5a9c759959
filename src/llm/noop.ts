import { ProviderError } from "./errors.ts";
import type { LlmProvider, LlmResponse } from "./types.ts";

/**
 * The default provider: it refuses every call with a `disabled` error, so
 * nothing reaches a model unless the operator opts in.
 */
export function createNoopLlmProvider(): LlmProvider {
  return {
    name: "noop",
    complete(): Promise<LlmResponse> {
      return Promise.reject(
        new ProviderError(
          "noop",
          "disabled",
          `Cannot call a model: no LLM provider is configured (KEEL_LLM_PROVIDER="noop"); ` +
            `set KEEL_LLM_PROVIDER=anthropic and ANTHROPIC_API_KEY to enable one`,
        ),
      );
    },
  };
}
