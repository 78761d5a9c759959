/**
 * OpenAI embeddings over `fetch`: `POST {base}/v1/embeddings` with a bearer key.
 *
 * @module
 */
import { z } from "zod";
import { ProviderError, type ProviderErrorKind } from "../llm/errors.ts";
import { type ErrorReader, postJson } from "../llm/_http.ts";
import { withGenAiSpan } from "../llm/_span.ts";
import { costOf, PRICE_CURRENCY, priceOf } from "../llm/pricing.ts";
import type {
  CallOptions,
  EmbeddingRequest,
  EmbeddingResponse,
  EmbeddingsProvider,
} from "./types.ts";

/** What the OpenAI embeddings provider needs. */
export interface OpenAiEmbeddingsOptions {
  /** The API key; sent only in the `authorization` header. */
  readonly apiKey: string;
  /** Scheme, host and optional path prefix, e.g. `https://api.openai.com`. */
  readonly baseUrl: string;
  /** Milliseconds before a call is abandoned. */
  readonly timeoutMs: number;
}

// OpenAI's `error.type` is coarse; `code` is often more precise, so both are consulted.
const TYPE_KINDS: Readonly<Record<string, ProviderErrorKind>> = {
  invalid_request_error: "invalid_request",
  invalid_api_key: "authentication",
  authentication_error: "authentication",
  insufficient_quota: "rate_limited",
  rate_limit_exceeded: "rate_limited",
  requests: "rate_limited",
  tokens: "rate_limited",
  server_error: "server_error",
  model_not_found: "not_found",
};

const ErrorBody = z.object({
  error: z.object({
    type: z.string().nullable().optional(),
    code: z.string().nullable().optional(),
    message: z.string().nullable().optional(),
  }),
});

const OPENAI_ERRORS: ErrorReader = {
  detail(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    const { type, code, message } = parsed.data.error;
    const chosen = code ?? type ?? undefined;
    return {
      ...(chosen === undefined ? {} : { type: chosen }),
      ...(message == null ? {} : { message }),
    };
  },
  // insufficient_quota arrives as 429 but waiting does not help: billing must change.
  kindOfType: (type) => type === "insufficient_quota" ? "permission" : TYPE_KINDS[type],
};

const EmbeddingBody = z.object({
  object: z.literal("list"),
  model: z.string(),
  data: z.array(z.object({ index: z.number().int().min(0), embedding: z.array(z.number()) })),
  usage: z.object({
    prompt_tokens: z.number().int().min(0),
    total_tokens: z.number().int().min(0),
  }),
});

function malformed(message: string, cause?: unknown): ProviderError {
  return new ProviderError(
    "openai",
    "malformed_response",
    `POST /v1/embeddings to openai returned ${message}`,
    { status: 200, ...(cause === undefined ? {} : { cause }) },
  );
}

/** OpenAI's embeddings endpoint as an {@linkcode EmbeddingsProvider}. */
export function createOpenAiEmbeddingsProvider(
  options: OpenAiEmbeddingsOptions,
): EmbeddingsProvider {
  const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/embeddings`;
  async function call(
    request: EmbeddingRequest,
    callOptions: CallOptions,
  ): Promise<EmbeddingResponse> {
    const raw = await postJson("openai", url, {
      headers: { authorization: `Bearer ${options.apiKey}` },
      body: {
        model: request.model,
        input: request.inputs,
        encoding_format: "float",
        ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
      },
      timeoutMs: options.timeoutMs,
      signal: callOptions.signal,
      errors: OPENAI_ERRORS,
    });
    const parsed = EmbeddingBody.safeParse(raw);
    if (!parsed.success) {
      throw malformed(
        `JSON that is not an embedding list: ${
          parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ")
        }`,
        parsed.error,
      );
    }
    const body = parsed.data;
    const sorted = [...body.data].sort((a, b) => a.index - b.index);
    if (
      sorted.length !== request.inputs.length || sorted.some((item, i) => item.index !== i)
    ) {
      throw malformed(`${sorted.length} vectors for ${request.inputs.length} inputs`);
    }
    const dimensions = sorted[0]?.embedding.length ?? 0;
    if (dimensions === 0 || sorted.some((item) => item.embedding.length !== dimensions)) {
      throw malformed("vectors of different or zero lengths");
    }
    const inputTokens = body.usage.prompt_tokens;
    const price = priceOf(request.model);
    return {
      model: body.model,
      vectors: sorted.map((item) => item.embedding),
      dimensions,
      usage: {
        inputTokens,
        outputTokens: 0,
        totalTokens: body.usage.total_tokens,
        estimatedCost: price === undefined
          ? null
          : { amount: costOf(price, inputTokens, 0), currency: PRICE_CURRENCY },
      },
    };
  }
  return {
    name: "openai",
    embed(request, callOptions = {}) {
      return withGenAiSpan(
        { operation: "embeddings", system: "openai", model: request.model },
        () => call(request, callOptions),
        (response) => ({
          "gen_ai.response.model": response.model,
          "gen_ai.usage.input_tokens": response.usage.inputTokens,
        }),
      );
    },
  };
}
