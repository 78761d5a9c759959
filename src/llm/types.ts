/**
 * The model-provider interface: a validated request, a normalized response and
 * usage, whatever the provider's wire format.
 *
 * @module
 */
import { z } from "zod";

/** One message of a conversation. */
export const LlmMessage = z.strictObject({
  role: z.enum(["user", "assistant"]),
  content: z.string().min(1).max(200_000),
});
/** One message of a conversation. */
export type LlmMessage = z.infer<typeof LlmMessage>;

/** What a completion takes; bounded so no request is unbounded in size or cost. */
export const LlmRequest = z.strictObject({
  model: z.string().min(1).max(200).regex(/^[A-Za-z0-9._:-]+$/, "must be a model id"),
  system: z.string().min(1).max(100_000).optional(),
  messages: z.array(LlmMessage).min(1).max(100),
  maxTokens: z.number().int().min(1).max(64_000),
  temperature: z.number().min(0).max(1).optional(),
});
/** What a completion takes. */
export type LlmRequest = z.infer<typeof LlmRequest>;

/** Token counts and the estimated cost of one call, the same for every provider. */
export interface Usage {
  /** Tokens read. */
  readonly inputTokens: number;
  /** Tokens written. */
  readonly outputTokens: number;
  /** Their sum. */
  readonly totalTokens: number;
  /** Estimated cost, 4 decimal places rounded up; `null` when the model has no known price. */
  readonly estimatedCost: { readonly amount: string; readonly currency: string } | null;
}

/** A completed call. */
export interface LlmResponse {
  /** The model that answered, as the provider names it. */
  readonly model: string;
  /** The concatenated text blocks of the answer. */
  readonly text: string;
  /** Why generation stopped, e.g. `end_turn` or `max_tokens`. */
  readonly stopReason: string | null;
  /** Token counts and cost. */
  readonly usage: Usage;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call, e.g. when the activity is cancelled. */
  readonly signal?: AbortSignal;
}

/** A chat-completion provider. Failures are thrown as `ProviderError`. */
export interface LlmProvider {
  /** The provider's name, e.g. `anthropic`; `gen_ai.system` on spans. */
  readonly name: string;
  /** Runs one completion. */
  complete(request: LlmRequest, options?: CallOptions): Promise<LlmResponse>;
}
