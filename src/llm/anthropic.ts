/**
 * The Anthropic Messages API over `fetch` (see docs/decisions/0005 for why no
 * SDK): `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`.
 *
 * @module
 */
import { z } from "zod";
import { ProviderError, type ProviderErrorKind } from "./errors.ts";
import { type ErrorReader, postJson } from "./_http.ts";
import { withGenAiSpan } from "./_span.ts";
import { costOf, PRICE_CURRENCY, priceOf } from "./pricing.ts";
import type { CallOptions, LlmProvider, LlmRequest, LlmResponse, Usage } from "./types.ts";

/** The API version header Keel speaks. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** What the Anthropic provider needs. */
export interface AnthropicOptions {
  /** The API key; sent only as `x-api-key`. */
  readonly apiKey: string;
  /** Scheme, host and optional path prefix, e.g. `https://api.anthropic.com`. */
  readonly baseUrl: string;
  /** Milliseconds before a call is abandoned. */
  readonly timeoutMs: number;
}

const TYPE_KINDS: Readonly<Record<string, ProviderErrorKind>> = {
  invalid_request_error: "invalid_request",
  request_too_large: "invalid_request",
  authentication_error: "authentication",
  permission_error: "permission",
  not_found_error: "not_found",
  rate_limit_error: "rate_limited",
  api_error: "server_error",
  overloaded_error: "overloaded",
  timeout_error: "timeout",
};

const ErrorBody = z.object({
  error: z.object({ type: z.string().optional(), message: z.string().optional() }),
});

const ANTHROPIC_ERRORS: ErrorReader = {
  detail(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    const { type, message } = parsed.data.error;
    return {
      ...(type === undefined ? {} : { type }),
      ...(message === undefined ? {} : { message }),
    };
  },
  kindOfType: (type) => TYPE_KINDS[type],
};

const MessageBody = z.object({
  type: z.literal("message"),
  model: z.string(),
  content: z.array(z.object({ type: z.string(), text: z.string().optional() })),
  stop_reason: z.string().nullable().optional(),
  usage: z.object({
    input_tokens: z.number().int().min(0),
    output_tokens: z.number().int().min(0),
    cache_creation_input_tokens: z.number().int().min(0).nullable().optional(),
    cache_read_input_tokens: z.number().int().min(0).nullable().optional(),
  }),
});

function usageOf(model: string, body: z.infer<typeof MessageBody>): Usage {
  // Cached input is still input: counting it keeps the estimate on the high side.
  const inputTokens = body.usage.input_tokens + (body.usage.cache_creation_input_tokens ?? 0) +
    (body.usage.cache_read_input_tokens ?? 0);
  const outputTokens = body.usage.output_tokens;
  const price = priceOf(model);
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    estimatedCost: price === undefined
      ? null
      : { amount: costOf(price, inputTokens, outputTokens), currency: PRICE_CURRENCY },
  };
}

/** The Anthropic Messages API as an {@linkcode LlmProvider}. */
export function createAnthropicProvider(options: AnthropicOptions): LlmProvider {
  const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/messages`;
  async function call(request: LlmRequest, callOptions: CallOptions): Promise<LlmResponse> {
    const raw = await postJson("anthropic", url, {
      headers: { "x-api-key": options.apiKey, "anthropic-version": ANTHROPIC_VERSION },
      body: {
        model: request.model,
        max_tokens: request.maxTokens,
        messages: request.messages,
        ...(request.system === undefined ? {} : { system: request.system }),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      },
      timeoutMs: options.timeoutMs,
      signal: callOptions.signal,
      errors: ANTHROPIC_ERRORS,
    });
    const parsed = MessageBody.safeParse(raw);
    if (!parsed.success) {
      throw new ProviderError(
        "anthropic",
        "malformed_response",
        `POST /v1/messages to anthropic returned JSON that is not a message: ${
          parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ")
        }`,
        { status: 200, cause: parsed.error },
      );
    }
    const body = parsed.data;
    return {
      model: body.model,
      text: body.content.map((block) => block.type === "text" ? block.text ?? "" : "").join(""),
      stopReason: body.stop_reason ?? null,
      usage: usageOf(request.model, body),
    };
  }
  return {
    name: "anthropic",
    complete(request, callOptions = {}) {
      return withGenAiSpan(
        {
          operation: "chat",
          system: "anthropic",
          model: request.model,
          attributes: { "gen_ai.request.max_tokens": request.maxTokens },
        },
        () => call(request, callOptions),
        (response) => ({
          "gen_ai.response.model": response.model,
          "gen_ai.usage.input_tokens": response.usage.inputTokens,
          "gen_ai.usage.output_tokens": response.usage.outputTokens,
          ...(response.stopReason === null
            ? {}
            : { "gen_ai.response.finish_reasons": [response.stopReason] }),
        }),
      );
    },
  };
}
