/**
 * The embeddings-provider interface: a validated request and a normalized
 * response with usage, whatever the provider's wire format.
 *
 * @module
 */
import { z } from "zod";
import type { CallOptions, Usage } from "../llm/types.ts";

export type { CallOptions, Usage } from "../llm/types.ts";

/** What an embeddings call takes: a bounded batch of texts. */
export const EmbeddingRequest = z.strictObject({
  model: z.string().min(1).max(200).regex(/^[A-Za-z0-9._:-]+$/, "must be a model id"),
  inputs: z.array(z.string().min(1).max(100_000)).min(1).max(256),
  dimensions: z.number().int().min(1).max(4096).optional(),
});
/** What an embeddings call takes. */
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;

/** The vectors, one per input and in input order. */
export interface EmbeddingResponse {
  /** The model that answered. */
  readonly model: string;
  /** One vector per input, in input order. */
  readonly vectors: readonly (readonly number[])[];
  /** Length of every vector. */
  readonly dimensions: number;
  /** Token counts (output is always 0) and cost. */
  readonly usage: Usage;
}

/** An embeddings provider. Failures are thrown as `ProviderError`. */
export interface EmbeddingsProvider {
  /** The provider's name, e.g. `openai`. */
  readonly name: string;
  /** Embeds a batch of texts. */
  embed(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResponse>;
}
