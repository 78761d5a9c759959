import { ProviderError } from "../llm/errors.ts";
import type { EmbeddingResponse, EmbeddingsProvider } from "./types.ts";

/** The default provider: it refuses every call with a `disabled` error. */
export function createNoopEmbeddingsProvider(): EmbeddingsProvider {
  return {
    name: "noop",
    embed(): Promise<EmbeddingResponse> {
      return Promise.reject(
        new ProviderError(
          "noop",
          "disabled",
          `Cannot embed text: no embeddings provider is configured ` +
            `(KEEL_EMBEDDINGS_PROVIDER="noop"); set KEEL_EMBEDDINGS_PROVIDER=openai and ` +
            `OPENAI_API_KEY to enable one`,
        ),
      );
    },
  };
}
