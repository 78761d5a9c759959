/**
 * Embeddings providers: NoOp by default, OpenAI opt-in. Errors use the LLM
 * providers' taxonomy (`ProviderError`).
 *
 * @module
 */
import type { EmbeddingsProviderConfig } from "../config/mod.ts";
import { createNoopEmbeddingsProvider } from "./noop.ts";
import { createOpenAiEmbeddingsProvider } from "./openai.ts";
import type { EmbeddingsProvider } from "./types.ts";

export * from "./types.ts";
export { createNoopEmbeddingsProvider } from "./noop.ts";
export { createOpenAiEmbeddingsProvider, type OpenAiEmbeddingsOptions } from "./openai.ts";

/** Builds the configured provider; `noop` unless the operator opted in. */
export function createEmbeddingsProvider(config: EmbeddingsProviderConfig): EmbeddingsProvider {
  switch (config.kind) {
    case "openai":
      return createOpenAiEmbeddingsProvider(config);
    case "noop":
      return createNoopEmbeddingsProvider();
  }
}
