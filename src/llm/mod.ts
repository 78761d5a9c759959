/**
 * Model providers: the interface, the error taxonomy, prices, the providers
 * (NoOp by default, Anthropic opt-in) and the budget ledger.
 *
 * @module
 */
import type { LlmProviderConfig } from "../config/mod.ts";
import { createAnthropicProvider } from "./anthropic.ts";
import { createNoopLlmProvider } from "./noop.ts";
import type { LlmProvider } from "./types.ts";

export * from "./types.ts";
export * from "./errors.ts";
export * from "./pricing.ts";
export * from "../budget/mod.ts";
export { ANTHROPIC_VERSION, type AnthropicOptions, createAnthropicProvider } from "./anthropic.ts";
export { createNoopLlmProvider } from "./noop.ts";

/** Builds the configured provider; `noop` unless the operator opted in. */
export function createLlmProvider(config: LlmProviderConfig): LlmProvider {
  switch (config.kind) {
    case "anthropic":
      return createAnthropicProvider(config);
    case "noop":
      return createNoopLlmProvider();
  }
}
